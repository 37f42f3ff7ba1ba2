use chrono::TimeZone;
use omnihub_domain::{ChatFacts, InboundMessage, MessageKind, PauseCause};
use serde_json::json;

use super::*;

fn at(minute: i64, second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
        + chrono::Duration::minutes(minute)
        + chrono::Duration::seconds(second)
}

fn rules(value: serde_json::Value) -> ConversationRules {
    ConversationRules::from_json(&value).unwrap()
}

fn dm(text: &str) -> InboundMessage {
    InboundMessage {
        phone: Some("5511999990000".into()),
        ..omnihub_test_support::text_message("M", "5511999990000@s.whatsapp.net", text)
    }
}

fn group(text: &str) -> InboundMessage {
    InboundMessage {
        author: Some("5511777770000@s.whatsapp.net".into()),
        phone: Some("5511777770000".into()),
        ..omnihub_test_support::text_message("G", "120363000@g.us", text)
    }
}

/// Decides `message` with `facts`, the instance's number being 5511900000000.
fn run(
    rules: &ConversationRules,
    state: &ChatState,
    message: &InboundMessage,
    facts: &ChatFacts,
    now: DateTime<Utc>,
) -> (Verdict, ChatState) {
    let arrival = Arrival {
        message,
        facts,
        own_number: Some("5511900000000"),
    };
    decide(rules, state, &arrival, now)
}

fn verdict(rules: &ConversationRules, message: &InboundMessage) -> Verdict {
    run(
        rules,
        &ChatState::default(),
        message,
        &ChatFacts::default(),
        at(0, 0),
    )
    .0
}

const ANSWER: Verdict = Verdict::Answer { debounce: None };

#[test]
fn defaults_answer_a_direct_message_and_count_it() {
    let (v, next) = run(
        &ConversationRules::default(),
        &ChatState::default(),
        &dm("hi"),
        &ChatFacts::default(),
        at(0, 0),
    );
    assert_eq!(v, ANSWER);
    assert_eq!(
        (next.inbound_count, next.answered_count, next.skipped_count),
        (1, 1, 0)
    );
    assert_eq!(next.last_inbound_at, Some(at(0, 0)));
}

#[test]
fn block_wins_over_allow_and_wildcards_match_prefixes() {
    let both = rules(json!({"allow": ["5511*"], "block": ["5511999990000"]}));
    assert_eq!(verdict(&both, &dm("hi")), Verdict::Skip(SkipReason::Blocked));
    let allow = rules(json!({"allow": ["5511*"]}));
    assert_eq!(verdict(&allow, &dm("hi")), ANSWER);
    let other = rules(json!({"allow": ["5521*"]}));
    assert_eq!(verdict(&other, &dm("hi")), Verdict::Skip(SkipReason::NotAllowed));
    let by_jid = rules(json!({"block": ["5511999990000@s.whatsapp.net"]}));
    assert_eq!(verdict(&by_jid, &dm("hi")), Verdict::Skip(SkipReason::Blocked));
    let by_lid = rules(json!({"allow": ["123@lid"]}));
    let facts = ChatFacts {
        addresses: vec!["123@lid".into()],
        ..ChatFacts::default()
    };
    let (v, _) = run(&by_lid, &ChatState::default(), &dm("hi"), &facts, at(0, 0));
    assert_eq!(
        v, ANSWER,
        "a LID on the allow list names the person in any address"
    );
    let group_blocked = rules(json!({"groups": "all", "block": ["120363000@g.us"]}));
    assert_eq!(
        verdict(&group_blocked, &group("hi")),
        Verdict::Skip(SkipReason::Blocked)
    );
}

#[test]
fn groups_answer_on_mention_or_quote_only_by_default() {
    let defaults = ConversationRules::default();
    let neither = ChatFacts::default();
    let mention = ChatFacts {
        mentions: vec!["5511900000000@s.whatsapp.net".into()],
        ..ChatFacts::default()
    };
    let quote = ChatFacts {
        quoted_author: Some("5511900000000@s.whatsapp.net".into()),
        ..ChatFacts::default()
    };
    let someone_else = ChatFacts {
        mentions: vec!["5511888880000@s.whatsapp.net".into()],
        ..ChatFacts::default()
    };
    let g = group("@bot hi");
    let decide_with = |r: &ConversationRules, f: &ChatFacts| run(r, &ChatState::default(), &g, f, at(0, 0)).0;
    assert_eq!(
        decide_with(&defaults, &neither),
        Verdict::Skip(SkipReason::GroupPolicy)
    );
    assert_eq!(
        decide_with(&defaults, &someone_else),
        Verdict::Skip(SkipReason::GroupPolicy)
    );
    assert_eq!(decide_with(&defaults, &mention), ANSWER);
    assert_eq!(decide_with(&defaults, &quote), ANSWER);
    assert_eq!(decide_with(&rules(json!({"groups": "all"})), &neither), ANSWER);
    assert_eq!(
        decide_with(&rules(json!({"groups": "off"})), &mention),
        Verdict::Skip(SkipReason::GroupPolicy)
    );
    // Without a known own number, the option names it.
    let arrival = Arrival {
        message: &g,
        facts: &mention,
        own_number: None,
    };
    let unknown = decide(&defaults, &ChatState::default(), &arrival, at(0, 0)).0;
    assert_eq!(unknown, Verdict::Skip(SkipReason::GroupPolicy));
    let with_option = rules(json!({"own_number": "5511900000000"}));
    assert_eq!(
        decide(&with_option, &ChatState::default(), &arrival, at(0, 0)).0,
        ANSWER
    );
}

#[test]
fn every_trigger_operator_opens_a_session_that_finishes_and_expires() {
    let keyword = rules(
        json!({"trigger": {"type": "keyword", "operator": "contains", "value": "pedido", "finish": "tchau", "expire_minutes": 10}}),
    );
    let facts = ChatFacts::default();
    let (v, s) = run(&keyword, &ChatState::default(), &dm("hello"), &facts, at(0, 0));
    assert_eq!(v, Verdict::Skip(SkipReason::NoTrigger));
    let (v, s) = run(&keyword, &s, &dm("Meu PEDIDO 12"), &facts, at(0, 1));
    assert_eq!((v, s.session_open), (ANSWER, true));
    let (v, s) = run(&keyword, &s, &dm("and another thing"), &facts, at(5, 0));
    assert_eq!(v, ANSWER, "an open session forwards everything");
    let (v, closed) = run(&keyword, &s, &dm("Tchau"), &facts, at(6, 0));
    assert_eq!(
        (v, closed.session_open),
        (Verdict::Skip(SkipReason::NoTrigger), false)
    );
    let (v, _) = run(&keyword, &closed, &dm("more"), &facts, at(6, 30));
    assert_eq!(
        v,
        Verdict::Skip(SkipReason::NoTrigger),
        "a finished session needs the trigger again"
    );
    // Ten idle minutes close it.
    let (v, _) = run(&keyword, &s, &dm("still there?"), &facts, at(15, 0));
    assert_eq!(v, Verdict::Skip(SkipReason::NoTrigger));
    let (v, _) = run(&keyword, &s, &dm("still there?"), &facts, at(14, 59));
    assert_eq!(v, ANSWER);
    for (operator, value, yes, no) in [
        ("equals", "menu", " MENU ", "menu please"),
        ("starts_with", "oi", "Oi tudo bem", "tudo bem oi"),
        ("ends_with", "?", "price?", "price"),
        ("regex", r"^#\d+$", "#42", "#x"),
    ] {
        let r = rules(json!({"trigger": {"type": "keyword", "operator": operator, "value": value}}));
        assert_eq!(verdict(&r, &dm(yes)), ANSWER, "{operator} {yes:?}");
        assert_eq!(
            verdict(&r, &dm(no)),
            Verdict::Skip(SkipReason::NoTrigger),
            "{operator} {no:?}"
        );
    }
}

#[test]
fn a_phone_typed_message_pauses_and_the_keyword_or_time_resumes() {
    let r = rules(json!({"takeover_minutes": 10, "resume_keyword": "#bot"}));
    let from_me = ChatFacts {
        from_me: true,
        ..ChatFacts::default()
    };
    let (v, paused) = run(
        &r,
        &ChatState::default(),
        &dm("I'll handle this"),
        &from_me,
        at(0, 0),
    );
    assert_eq!(v, Verdict::Pause);
    assert_eq!(
        (paused.paused_by, paused.paused_until),
        (Some(PauseCause::Human), Some(at(10, 0)))
    );
    assert_eq!(paused.inbound_count, 0, "the owner's message is not the person's");
    let inbound = ChatFacts::default();
    assert_eq!(
        run(&r, &paused, &dm("hi"), &inbound, at(9, 59)).0,
        Verdict::Skip(SkipReason::Paused)
    );
    let (v, resumed) = run(&r, &paused, &dm("hi"), &inbound, at(10, 0));
    assert_eq!(
        (v, resumed.paused_by),
        (ANSWER, None),
        "the pause ends at exactly 10 minutes"
    );
    let (v, by_keyword) = run(&r, &paused, &dm(" #BOT "), &from_me, at(1, 0));
    assert_eq!((v, by_keyword.is_paused(at(1, 0))), (Verdict::Resume, false));
    // 0 minutes: until resumed.
    let forever = rules(json!({"takeover_minutes": 0}));
    let (_, paused) = run(&forever, &ChatState::default(), &dm("mine"), &from_me, at(0, 0));
    assert_eq!(
        run(&forever, &paused, &dm("hi"), &inbound, at(60 * 24 * 365, 0)).0,
        Verdict::Skip(SkipReason::Paused)
    );
}

#[test]
fn a_takeover_never_shortens_an_admin_pause() {
    let admin = ChatState {
        paused_by: Some(PauseCause::Api),
        paused_until: None,
        ..ChatState::default()
    };
    let from_me = ChatFacts {
        from_me: true,
        ..ChatFacts::default()
    };
    let (_, next) = run(
        &ConversationRules::default(),
        &admin,
        &dm("typing"),
        &from_me,
        at(0, 0),
    );
    assert_eq!((next.paused_by, next.paused_until), (Some(PauseCause::Api), None));
}

#[test]
fn the_rate_limit_counts_answered_messages_per_minute() {
    let r = rules(json!({"max_per_minute": 2}));
    let facts = ChatFacts::default();
    let (a, s) = run(&r, &ChatState::default(), &dm("1"), &facts, at(0, 0));
    let (b, s) = run(&r, &s, &dm("2"), &facts, at(0, 20));
    let (c, s) = run(&r, &s, &dm("3"), &facts, at(0, 59));
    let (d, _) = run(&r, &s, &dm("4"), &facts, at(1, 0));
    assert_eq!(
        [a, b, c, d],
        [ANSWER, ANSWER, Verdict::Skip(SkipReason::RateLimited), ANSWER]
    );
    // A rate-limited trigger does not open a session.
    let keyword = rules(
        json!({"max_per_minute": 1, "trigger": {"type": "keyword", "operator": "equals", "value": "go"}}),
    );
    let (_, s) = run(&keyword, &ChatState::default(), &dm("go"), &facts, at(0, 0));
    let closed = ChatState {
        session_open: false,
        ..s
    };
    let (v, after) = run(&keyword, &closed, &dm("go"), &facts, at(0, 1));
    assert_eq!(
        (v, after.session_open),
        (Verdict::Skip(SkipReason::RateLimited), false)
    );
}

#[test]
fn ignored_types_and_the_debounce_window() {
    let mut sticker = dm("");
    sticker.content.kind = MessageKind::Sticker;
    assert_eq!(
        verdict(&ConversationRules::default(), &sticker),
        Verdict::Skip(SkipReason::IgnoredType)
    );
    assert_eq!(verdict(&rules(json!({"ignore_types": []})), &sticker), ANSWER);
    let debounced = rules(json!({"debounce_ms": 2000, "debounce_max_ms": 5000}));
    assert_eq!(
        verdict(&debounced, &dm("hi")),
        Verdict::Answer {
            debounce: Some((Duration::from_secs(2), Duration::from_secs(5)))
        }
    );
}
