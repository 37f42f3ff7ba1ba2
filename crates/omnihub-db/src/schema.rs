//! Diesel table definitions shared by both engines (the common type palette only).

diesel::table! {
    instance_configs (id) {
        id -> BigInt,
        name -> Text,
        evolution_url -> Text,
        evolution_key -> Text,
        whatsapp_instance -> Text,
        session_id_prefix -> Nullable<Text>,
        agent_api_url -> Text,
        agent_api_key -> Text,
        default_agent -> Text,
        agent_timeout -> Integer,
        is_default -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        webhook_secret -> Nullable<Text>,
        agent_kind -> Text,
        agent_options -> Text,
        rules -> Text,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        instance_name -> Text,
        message_id -> Text,
        chat_id -> Text,
        author -> Nullable<Text>,
        sender_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        kind -> Text,
        content -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        reply -> Nullable<Text>,
        parts_total -> Integer,
        parts_sent -> Integer,
        outcome -> Nullable<Text>,
        error_stage -> Nullable<Text>,
        error -> Nullable<Text>,
        received_at -> Timestamp,
        agent_started_at -> Nullable<Timestamp>,
        agent_finished_at -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        held_since -> Nullable<Timestamp>,
        chat_key -> Text,
        skip_reason -> Nullable<Text>,
        direction -> Text,
    }
}

diesel::table! {
    conversations (instance_name, session) {
        instance_name -> Text,
        session -> Text,
        state -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    chat_queues (instance_name, chat_id) {
        instance_name -> Text,
        chat_id -> Text,
        head_id -> BigInt,
        due_at -> Timestamp,
    }
}

diesel::table! {
    instance_connections (instance_name) {
        instance_name -> Text,
        state -> Text,
        since -> Timestamp,
        reason_code -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        last_qr_at -> Nullable<Timestamp>,
        number -> Nullable<Text>,
        profile_name -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    chats (instance_name, chat_key) {
        instance_name -> Text,
        chat_key -> Text,
        last_address -> Nullable<Text>,
        paused_by -> Nullable<Text>,
        paused_until -> Nullable<Timestamp>,
        session_open -> Bool,
        session_at -> Nullable<Timestamp>,
        rate_window_at -> Nullable<Timestamp>,
        rate_count -> Integer,
        last_inbound_at -> Nullable<Timestamp>,
        last_outbound_at -> Nullable<Timestamp>,
        inbound_count -> BigInt,
        answered_count -> BigInt,
        skipped_count -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    chat_aliases (instance_name, address) {
        instance_name -> Text,
        address -> Text,
        chat_key -> Text,
    }
}

diesel::table! {
    console_sessions (token_hash) {
        token_hash -> Text,
        csrf -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    chats,
    chat_aliases,
    instance_configs,
    messages,
    conversations,
    chat_queues,
    instance_connections
);
