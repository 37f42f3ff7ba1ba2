//! n8n, Flowise and the generic webhook.

use omnihub_agent::AgentError;
use omnihub_domain::Answer;
use omnihub_test_support::InstanceBuilder;
use omnihub_test_support::{FakeHttp, Reply};
use serde_json::json;

use crate::{call, message, noon, text, CHAT};

#[tokio::test]
async fn n8n_gets_evolutions_body_with_basic_auth_and_answers_in_output() {
    let fake = FakeHttp::start(|r, _| match r.json["chatInput"].as_str() {
        Some("immediately") => Reply::json(200, json!({"message": "Workflow was started"})),
        Some("all entries") => Reply::json(200, json!([{"output": "x"}])),
        Some("answer") => Reply::json(200, json!({"answer": "from answer"})),
        _ => Reply::json(200, json!({"output": "Orçamento enviado"})),
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&format!("{}/webhook/abc", fake.url))
        .kind(
            "n8n",
            json!({"basic_auth_user": "bot", "basic_auth_password": "n8n-password-123"}),
        )
        .no_key()
        .config();
    let mut quoted = message("Oi, quero um orçamento");
    quoted.content.quoted = Some("texto citado".into());
    let reply = call(&instance, &quoted, None, noon()).await.unwrap();
    assert_eq!((text(&reply), reply.state.clone()), ("Orçamento enviado", None));
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/webhook/abc");
    // base64("bot:n8n-password-123")
    assert_eq!(
        request.header("authorization"),
        Some("Basic Ym90Om44bi1wYXNzd29yZC0xMjM=")
    );
    assert_eq!(
        request.json,
        json!({"chatInput": "Oi, quero um orçamento", "sessionId": "s1", "remoteJid": CHAT, "pushName": "Ana",
               "messageId": "MSG1", "fromMe": false, "instanceName": "shop",
               "quotedMessage": {"conversation": "texto citado"}})
    );
    assert_eq!(
        text(&call(&instance, &message("answer"), None, noon()).await.unwrap()),
        "from answer"
    );
    // "Workflow was started" is n8n's, not the bot's: never sent to the customer.
    for misconfigured in ["immediately", "all entries"] {
        let err = call(&instance, &message(misconfigured), None, noon())
            .await
            .unwrap_err();
        assert!(
            matches!(err, AgentError::Decode(_)) && !err.is_transient(),
            "{err}"
        );
    }
}

#[tokio::test]
async fn flowise_gets_question_and_session_and_its_500s_are_read_by_message() {
    let fake = FakeHttp::start(|r, _| match r.json["question"].as_str() {
        Some("wrong key") => Reply::json(
            500,
            json!({"statusCode": 500, "success": false,
            "message": "Error: predictionsServices.buildChatflow - Unauthorized", "stack": {}}),
        ),
        Some("model down") => Reply::json(
            500,
            json!({"statusCode": 500, "success": false,
            "message": "Error: predictionsServices.buildChatflow - Request failed with status code 503"}),
        ),
        Some("gone") => Reply::json(
            404,
            json!({"statusCode": 404, "success": false, "message": "Chatflow abc not found in the database!"}),
        ),
        _ => Reply::json(
            200,
            json!({"text": "Olá do Flowise", "chatId": "s1", "sessionId": "s1"}),
        ),
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&fake.url)
        .kind("flowise", json!({}))
        .config();
    let reply = call(&instance, &message("Oi"), None, noon()).await.unwrap();
    assert_eq!(text(&reply), "Olá do Flowise");
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/api/v1/prediction/agent-shop");
    assert_eq!(
        request.header("authorization"),
        Some("Bearer agent-key-for-tests-0123")
    );
    assert_eq!(
        request.json,
        json!({"question": "Oi", "streaming": false, "chatId": "s1",
               "overrideConfig": {"sessionId": "s1", "vars": {"remoteJid": CHAT}}})
    );
    let unauthorized = call(&instance, &message("wrong key"), None, noon())
        .await
        .unwrap_err();
    assert!(
        !unauthorized.is_transient(),
        "a wrong key is permanent despite the 500"
    );
    assert!(unauthorized.to_string().contains("Unauthorized"));
    assert!(call(&instance, &message("model down"), None, noon())
        .await
        .unwrap_err()
        .is_transient());
    assert!(!call(&instance, &message("gone"), None, noon())
        .await
        .unwrap_err()
        .is_transient());
}

#[tokio::test]
async fn the_generic_webhook_speaks_evolution_bot_and_an_array_is_several_messages() {
    let fake = FakeHttp::start(|r, _| match r.json["query"].as_str() {
        Some("list") => Reply::json(200, json!({"message": ["Olá Ana!", "Segue o catálogo"]})),
        Some("silent") => Reply::json(200, json!({"linkPreview": false})),
        Some("quoted") => Reply::json(200, json!({"message": "'só isso'"})),
        _ => Reply::json(502, json!({"error": "upstream"})),
    });
    let instance = InstanceBuilder::new("shop")
        .agent(&format!("{}/bot", fake.url))
        .kind("webhook", json!({}))
        .config();
    let reply = call(&instance, &message("list"), None, noon()).await.unwrap();
    assert_eq!(text(&reply), "Olá Ana!\n\nSegue o catálogo");
    let request = &fake.requests()[0];
    assert_eq!(
        (request.path.as_str(), request.header("authorization")),
        ("/bot", Some("Bearer agent-key-for-tests-0123"))
    );
    assert_eq!(
        request.json,
        json!({"query": "list", "user": CHAT, "inputs": {"sessionId": "s1", "remoteJid": CHAT, "pushName": "Ana",
               "instanceName": "shop", "messageId": "MSG1"}})
    );
    let silent = call(&instance, &message("silent"), None, noon()).await.unwrap();
    assert!(matches!(silent.answer, Answer::NoReply(_)));
    assert_eq!(
        text(&call(&instance, &message("quoted"), None, noon()).await.unwrap()),
        "só isso"
    );
    assert!(call(&instance, &message("down"), None, noon())
        .await
        .unwrap_err()
        .is_transient());
}

#[tokio::test]
async fn no_protocol_follows_a_redirect_or_waits_past_the_timeout() {
    let redirecting =
        FakeHttp::start(|_, _| Reply::raw(302, "text/plain", "").header("location", "http://evil.example/x"));
    for kind in ["openai", "dify", "n8n", "flowise", "typebot", "webhook"] {
        let instance = InstanceBuilder::new("shop")
            .agent(&redirecting.url)
            .kind(kind, json!({}))
            .config();
        let err = call(&instance, &message("hi"), None, noon()).await.unwrap_err();
        assert!(
            matches!(err, AgentError::Redirected { ref host, .. } if host == "evil.example"),
            "{kind}: {err}"
        );
    }
    assert_eq!(redirecting.requests().len(), 6, "nothing went to the other host");
    let slow = FakeHttp::start(|_, _| Reply::json(200, json!({})).after(std::time::Duration::from_secs(3)));
    for kind in ["openai", "dify", "n8n", "flowise", "typebot", "webhook"] {
        let mut input = InstanceBuilder::new("shop")
            .agent(&slow.url)
            .kind(kind, json!({}))
            .input();
        input.agent_timeout = Some(1);
        let instance = InstanceBuilder::from_input(input).config();
        let err = call(&instance, &message("hi"), None, noon()).await.unwrap_err();
        assert!(
            matches!(err, AgentError::Timeout(1)) && err.is_transient(),
            "{kind}: {err}"
        );
    }
}

#[tokio::test]
async fn every_kind_classifies_statuses_the_same_way() {
    let fake = FakeHttp::start(|r, _| {
        let status: u16 = r.path.split('/').find_map(|s| s.parse().ok()).unwrap_or(418);
        Reply::json(
            status,
            json!({"error": {"message": format!("status {status}")}, "message": format!("status {status}")}),
        )
    });
    for kind in ["openai", "dify", "n8n", "flowise", "typebot", "webhook"] {
        for (status, transient) in [
            (408, true),
            (409, true),
            (429, true),
            (500, true),
            (503, true),
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (422, false),
        ] {
            // The status the fake answers rides in the base URL's path.
            let base = format!("{}/x/{status}", fake.url);
            let instance = InstanceBuilder::new("shop")
                .agent(&base)
                .kind(kind, json!({}))
                .config();
            let err = call(&instance, &message("hi"), None, noon()).await.unwrap_err();
            assert_eq!(err.is_transient(), transient, "{kind} {status}: {err}");
        }
    }
}
