//! Text hygiene at the edges: secrets cut out of upstream errors, control characters made
//! visible before they reach a terminal, agent replies checked before they reach a customer,
//! and the host a refused redirect pointed at.

use std::borrow::Cow;

/// What replaces a secret found in text that will be stored, logged or shown.
pub const REDACTED: &str = "[redacted]";

/// `text` with every occurrence of each non-empty secret replaced by [`REDACTED`]. Upstream
/// error bodies are stored and shown; an agent that echoes its key must not publish it.
pub fn redact<'a>(text: &'a str, secrets: &[&str]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    // Longest first, so a secret that contains another is cut out whole.
    let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if out.contains(secret) {
            out = Cow::Owned(out.replace(secret, REDACTED));
        }
    }
    out
}

/// True for characters a terminal would act on or that reorder what is shown: C0/C1
/// controls (tab and newline included) and the Unicode bidirectional overrides/isolates.
fn is_terminal_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` safe to print in a terminal table: every control or bidi-override character
/// becomes a visible escape (`\n`, `\t`, `\u{1b}`), so text taken from a webhook cannot
/// move the cursor, ring the bell or reverse what the operator reads.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_terminal_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_terminal_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Why an agent's successful answer cannot be sent to a person, if it cannot: markup of an
/// error page, or control characters other than newline and tab (a lone carriage return
/// included; `\r\n` counts as a newline). Plain text and Markdown pass.
pub fn unreadable_reply(text: &str) -> Option<String> {
    let start = text.trim_start();
    let head: String = start.chars().take(15).collect::<String>().to_ascii_lowercase();
    if head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.starts_with("<head")
        || head.starts_with("<body")
    {
        return Some("the agent answered an HTML page, not a reply".to_owned());
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            return Some(format!(
                "the agent's reply contains the control character U+{:04X}",
                u32::from(c)
            ));
        }
    }
    None
}

/// The host a redirect's `Location` names, for an error message (`unknown` when it is
/// missing or unreadable; a relative location stays on the same host).
pub fn redirect_host(location: Option<&str>) -> String {
    let Some(location) = location else {
        return "unknown".to_owned();
    };
    match url::Url::parse(location) {
        Ok(url) => url.host_str().unwrap_or("unknown").to_owned(),
        Err(url::ParseError::RelativeUrlWithoutBase) => "the same host".to_owned(),
        Err(_) => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_cut_out_longest_first() {
        assert_eq!(
            redact(
                "bad key sk-123456 (sk-123456789)",
                &["sk-123456", "sk-123456789", ""]
            ),
            "bad key [redacted] ([redacted])"
        );
        assert!(matches!(redact("nothing here", &["k"]), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_escapes_and_bidi_overrides_become_visible() {
        assert_eq!(visible("plain ção"), "plain ção");
        assert_eq!(visible("a\u{1b}[2Jb\u{7}"), "a\\u{1b}[2Jb\\u{7}");
        assert_eq!(visible("x\ny\tz"), "x\\ny\\tz");
        assert_eq!(visible("\u{202e}txt.exe"), "\\u{202e}txt.exe");
    }

    #[test]
    fn replies_with_markup_or_controls_are_unreadable() {
        assert_eq!(unreadable_reply("Olá!\n\n- item\tok\r\n"), None);
        assert!(unreadable_reply("<!DOCTYPE html><html>502</html>").is_some());
        assert!(unreadable_reply("  <html><body>Bad Gateway").is_some());
        assert!(unreadable_reply("a\u{0}b").unwrap().contains("U+0000"));
        assert!(unreadable_reply("bell\u{7}").is_some());
        assert!(unreadable_reply("lone\rreturn").is_some());
        assert_eq!(unreadable_reply("1 < 2 and <b>bold</b>"), None);
    }

    #[test]
    fn redirect_hosts_are_named() {
        assert_eq!(redirect_host(Some("https://evil.example/x")), "evil.example");
        assert_eq!(redirect_host(Some("/elsewhere")), "the same host");
        assert_eq!(redirect_host(None), "unknown");
    }
}
