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

#[cfg(test)]
mod tests {
    use super::*;

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
