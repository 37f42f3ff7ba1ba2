//! The conversation rules' decision: a pure function of (rules, chat state, message, time)
//! giving what to do with the message and the chat's next state. The database layer calls
//! it inside the transaction that stores the message ([`omnihub_domain::Decide`]), so the
//! state it reads is the one it writes back, on every replica.

use std::time::Duration;

use chrono::{DateTime, Utc};
use omnihub_domain::{
    entry_matches, Arrival, ChatState, ConversationRules, GroupPolicy, SkipReason, Trigger, Verdict,
};

/// Decides what becomes of `arrival` in a chat whose state is `state`, at `now`.
///
/// Messages typed on the instance's phone (`fromMe`) pause the chat, or resume it when they
/// are the resume keyword; they are never answered. Everything else is checked in this
/// order: ignored type, block, allow, group policy, pause, trigger, rate limit.
pub fn decide(
    rules: &ConversationRules,
    state: &ChatState,
    arrival: &Arrival<'_>,
    now: DateTime<Utc>,
) -> (Verdict, ChatState) {
    let mut next = state.clone();
    if next.paused_by.is_some() && !next.is_paused(now) {
        // A timed pause that ran out.
        next.paused_by = None;
        next.paused_until = None;
    }
    if arrival.facts.from_me {
        return (take_over(rules, &mut next, arrival, now), next);
    }
    next.inbound_count += 1;
    next.last_inbound_at = Some(now);
    let verdict = match skip_reason(rules, &mut next, arrival, now) {
        Some(reason) => {
            next.skipped_count += 1;
            Verdict::Skip(reason)
        }
        None => {
            next.answered_count += 1;
            Verdict::Answer {
                debounce: (rules.debounce_ms > 0).then(|| {
                    (
                        Duration::from_millis(u64::from(rules.debounce_ms)),
                        Duration::from_millis(u64::from(rules.debounce_max_ms.max(rules.debounce_ms))),
                    )
                }),
            }
        }
    };
    (verdict, next)
}

/// A message typed on the phone: resume on the keyword, else pause (never shortening a
/// longer pause already in force).
fn take_over(
    rules: &ConversationRules,
    next: &mut ChatState,
    arrival: &Arrival<'_>,
    now: DateTime<Utc>,
) -> Verdict {
    next.last_outbound_at = Some(now);
    let text = arrival.message.content.text.trim();
    if rules
        .resume_keyword
        .as_deref()
        .is_some_and(|keyword| text.eq_ignore_ascii_case(keyword))
    {
        next.paused_by = None;
        next.paused_until = None;
        return Verdict::Resume;
    }
    next.take_over(rules.takeover_minutes, now);
    Verdict::Pause
}

fn skip_reason(
    rules: &ConversationRules,
    next: &mut ChatState,
    arrival: &Arrival<'_>,
    now: DateTime<Utc>,
) -> Option<SkipReason> {
    let message = arrival.message;
    if rules.ignores(message.content.kind.as_str()) {
        return Some(SkipReason::IgnoredType);
    }
    if !rules.block.is_empty() || !rules.allow.is_empty() {
        // Built only when a list is set: most instances have none, and this runs per message.
        let mut addresses = arrival.facts.addresses.clone();
        addresses.push(message.chat_id.clone());
        let phone = message.phone.as_deref();
        if rules.block.iter().any(|e| entry_matches(e, phone, &addresses)) {
            return Some(SkipReason::Blocked);
        }
        if !rules.allow.is_empty() && !rules.allow.iter().any(|e| entry_matches(e, phone, &addresses)) {
            return Some(SkipReason::NotAllowed);
        }
    }
    if message.is_group() && !group_answers(rules, arrival) {
        return Some(SkipReason::GroupPolicy);
    }
    if next.is_paused(now) {
        return Some(SkipReason::Paused);
    }
    if let Trigger::Keyword(trigger) = &rules.trigger {
        let text = &message.content.text;
        let expired = trigger.expire_minutes.is_some_and(|minutes| {
            next.session_at
                .is_some_and(|at| now - at >= chrono::Duration::minutes(i64::from(minutes)))
        });
        if next.session_open && expired {
            next.session_open = false;
        }
        if next.session_open && trigger.finishes(text) {
            next.session_open = false;
            next.session_at = Some(now);
            return Some(SkipReason::NoTrigger);
        }
        if !next.session_open && !trigger.opens(text) {
            return Some(SkipReason::NoTrigger);
        }
        // The rate limit below may still refuse it; the session opens only if it is answered.
        if rate_limited(rules, next, now) {
            return Some(SkipReason::RateLimited);
        }
        next.session_open = true;
        next.session_at = Some(now);
        return None;
    }
    rate_limited(rules, next, now).then_some(SkipReason::RateLimited)
}

/// Counts the message in the chat's current minute; true when it is over the limit.
fn rate_limited(rules: &ConversationRules, next: &mut ChatState, now: DateTime<Utc>) -> bool {
    if rules.max_per_minute == 0 {
        return false;
    }
    let window_open = next
        .rate_window_at
        .is_some_and(|start| now - start < chrono::Duration::minutes(1) && now >= start);
    if !window_open {
        next.rate_window_at = Some(now);
        next.rate_count = 0;
    }
    if next.rate_count >= rules.max_per_minute {
        return true;
    }
    next.rate_count += 1;
    false
}

/// Whether a group message is answered under the `groups` rule.
fn group_answers(rules: &ConversationRules, arrival: &Arrival<'_>) -> bool {
    match rules.groups {
        GroupPolicy::All => true,
        GroupPolicy::Off => false,
        GroupPolicy::Mention => {
            let Some(own) = arrival.own_number.or(rules.own_number.as_deref()) else {
                return false;
            };
            let is_own = |jid: &str| omnihub_domain::phone_from_jid(jid).as_deref() == Some(own);
            arrival.facts.mentions.iter().any(|jid| is_own(jid))
                || arrival.facts.quoted_author.as_deref().is_some_and(is_own)
        }
    }
}

#[cfg(test)]
mod tests;
