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
    }
}
