//! Splitting an agent's answer into WhatsApp messages.

/// The longest part sent in one `sendText`.
pub const MAX_PART_CHARS: usize = 4096;

/// Splits on blank lines (each paragraph is one message), then hard-splits any part longer
/// than `max` characters, preferring a newline or a space near the limit.
pub fn split_reply(reply: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut parts = Vec::new();
    let mut paragraph = String::new();
    for line in reply.lines() {
        if line.trim().is_empty() {
            push_paragraph(&mut parts, &paragraph, max);
            paragraph.clear();
        } else {
            if !paragraph.is_empty() {
                paragraph.push('\n');
            }
            paragraph.push_str(line);
        }
    }
    push_paragraph(&mut parts, &paragraph, max);
    parts
}

fn push_paragraph(parts: &mut Vec<String>, paragraph: &str, max: usize) {
    let mut rest = paragraph.trim();
    while !rest.is_empty() {
        if rest.chars().count() <= max {
            parts.push(rest.to_owned());
            return;
        }
        let hard = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        // Break at the last newline or space in the second half of the window, if any.
        let window = &rest[..hard];
        let soft = window
            .rfind('\n')
            .or_else(|| window.rfind(' '))
            .filter(|&i| i >= hard / 2 && i > 0);
        let cut = soft.unwrap_or(hard);
        parts.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
}

/// An answer cut to the configured limits, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CappedReply {
    /// The text to store and send; [`split_reply`] splits it into exactly `parts` parts.
    pub text: String,
    /// How many WhatsApp messages it will be sent in.
    pub parts: usize,
    /// What was cut, when anything was (kept on the message).
    pub cut: Option<String>,
}

/// Cuts `reply` to at most `max_parts` parts of at most [`MAX_PART_CHARS`] and `max_chars`
/// characters in all, so no agent can flood a person with messages. The parts kept are
/// joined with blank lines, which split back into the same parts.
pub fn cap_reply(reply: &str, max_chars: usize, max_parts: usize) -> CappedReply {
    let parts = split_reply(reply, MAX_PART_CHARS);
    let total_chars: usize = parts.iter().map(|p| p.chars().count()).sum();
    let mut kept: Vec<String> = Vec::new();
    let mut budget = max_chars;
    for part in &parts {
        if kept.len() == max_parts.max(1) || budget == 0 {
            break;
        }
        let len = part.chars().count();
        if len <= budget {
            budget -= len;
            kept.push(part.clone());
        } else {
            let end = part.char_indices().nth(budget).map_or(part.len(), |(i, _)| i);
            let head = part[..end].trim_end();
            if !head.is_empty() {
                kept.push(head.to_owned());
            }
            budget = 0;
        }
    }
    let kept_chars: usize = kept.iter().map(|p| p.chars().count()).sum();
    let cut = (kept.len() < parts.len() || kept_chars < total_chars).then(|| {
        format!(
            "reply cut: the agent answered {total_chars} characters in {} parts; sent {kept_chars} characters in {} parts (limits: {max_chars} characters, {max_parts} parts)",
            parts.len(),
            kept.len()
        )
    });
    CappedReply {
        parts: kept.len(),
        text: kept.join("\n\n"),
        cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_within_the_limits_are_untouched() {
        let capped = cap_reply("one\n\ntwo", 100, 5);
        assert_eq!(
            (capped.text.as_str(), capped.parts, capped.cut),
            ("one\n\ntwo", 2, None)
        );
    }

    #[test]
    fn floods_are_cut_in_parts_and_characters_and_say_so() {
        let flood = "line\n\n".repeat(5000);
        let capped = cap_reply(&flood, 100_000, 3);
        assert_eq!(capped.parts, 3);
        assert_eq!(
            split_reply(&capped.text, MAX_PART_CHARS),
            ["line", "line", "line"]
        );
        assert!(capped.cut.as_deref().unwrap().contains("5000 parts"));
        let long = "x".repeat(10_000);
        let capped = cap_reply(&long, 5000, 10);
        assert_eq!(capped.parts, 2);
        assert_eq!(capped.text.chars().filter(|c| *c == 'x').count(), 5000);
        assert_eq!(
            split_reply(&capped.text, MAX_PART_CHARS).len(),
            2,
            "splits back the same"
        );
        assert!(capped.cut.is_some());
    }

    #[test]
    fn paragraphs_become_parts() {
        assert_eq!(split_reply("one", 4096), ["one"]);
        assert_eq!(
            split_reply("one\ntwo lines\n\n\n  \nthree", 4096),
            ["one\ntwo lines", "three"]
        );
        assert!(split_reply("  \n\n ", 4096).is_empty());
    }

    #[test]
    fn long_parts_are_hard_split_within_the_limit() {
        let long = "word ".repeat(2000);
        let parts = split_reply(&long, 4096);
        assert_eq!(parts.len(), 3);
        assert!(parts
            .iter()
            .all(|p| p.chars().count() <= 4096 && !p.ends_with(' ')));
        assert_eq!(parts.join(" ").split_whitespace().count(), 2000, "no word lost");
        let unbroken = "é".repeat(9000);
        let parts = split_reply(&unbroken, 4096);
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            [4096, 4096, 808]
        );
    }
}
