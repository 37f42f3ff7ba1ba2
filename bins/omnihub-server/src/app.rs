//! The route table and middleware stack, shared by the binary and the in-process tests.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, NormalizePath, TrailingSlash};
use actix_web::{web, App, Error};

use crate::extract::{json_config, json_error_pages, query_config, route_not_found};
use crate::handlers::{agents, chats, instances, lifecycle, messages, ops, outbound, webhooks};
use crate::middleware::{observe, require_api_key};
use crate::state::AppState;

/// Builds the application: operations routes at the root, the admin API under `/api/v1`
/// (behind the API key), JSON errors everywhere, and the access log around it all.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let webhook_limit = state.webhook_limits().body.max_bytes;
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(webhook_limit))
        .app_data(json_config())
        .app_data(query_config())
        .configure(routes)
        .default_service(web::to(route_not_found))
        .wrap(json_error_pages())
        // The seed's clients call `/api/v1/instances/`; trailing slashes are dropped.
        .wrap(NormalizePath::new(TrailingSlash::Trim))
        .wrap(from_fn(observe))
}

/// Every route, sorted by path.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // Resources (not bare routes) so a wrong method is a 405, not a 404.
    cfg.configure(crate::console::routes)
        .service(web::resource("/health").get(ops::health))
        .service(web::resource("/metrics").get(ops::metrics))
        .service(web::resource("/ready").get(ops::ready))
        .service(
            web::scope("/api/v1")
                .wrap(from_fn(require_api_key))
                .service(web::resource("/default-instance").get(instances::default_instance))
                .service(web::resource("/evolution/instances").get(lifecycle::discover))
                .service(
                    web::resource("/instances")
                        .get(instances::list)
                        .post(instances::create),
                )
                .service(
                    web::resource("/instances/{name}")
                        .get(instances::get)
                        .put(instances::update)
                        .delete(instances::delete),
                )
                .service(web::resource("/instances/{name}/set-default").post(instances::set_default))
                .service(web::resource("/instances/{name}/chats").get(chats::list))
                .service(web::resource("/instances/{name}/chats/{chat}").get(chats::get))
                .service(web::resource("/instances/{name}/chats/{chat}/messages").get(outbound::conversation))
                .service(web::resource("/instances/{name}/chats/{chat}/pause").post(chats::pause))
                .service(web::resource("/instances/{name}/chats/{chat}/resume").post(chats::resume))
                .service(web::resource("/instances/{name}/connect").post(lifecycle::connect))
                .service(web::resource("/instances/{name}/conversations").get(agents::list))
                .service(web::resource("/instances/{name}/conversations/{chat}").delete(agents::reset))
                .service(web::resource("/instances/{name}/logout").post(lifecycle::logout))
                .service(web::resource("/instances/{name}/messages/send").post(outbound::send))
                .service(web::resource("/instances/{name}/restart").post(lifecycle::restart))
                .service(
                    web::resource("/instances/{name}/rules")
                        .get(chats::get_rules)
                        .put(chats::put_rules),
                )
                .service(web::resource("/instances/{name}/status").get(lifecycle::status))
                .service(web::resource("/instances/{name}/test-agent").post(agents::test_agent))
                .service(web::resource("/instances/{name}/webhook/sync").post(lifecycle::sync_webhook))
                .service(web::resource("/instances/{name}/whatsapp").delete(lifecycle::delete_whatsapp))
                .service(web::resource("/messages").get(messages::list))
                .service(web::resource("/messages/{id}").get(messages::get))
                .service(web::resource("/messages/{id}/retry").post(messages::retry))
                .service(web::resource("/openapi.json").get(ops::openapi)),
        )
        // Webhooks authenticate per instance (token), not with the admin key. The third
        // form is Evolution's "webhook by events" URL ({url}/{event-name}).
        .service(web::resource("/webhook/evolution").post(webhooks::for_default))
        .service(web::resource("/webhook/evolution/{instance}").post(webhooks::for_instance))
        .service(
            web::resource("/webhook/evolution/{instance}/{event}").post(webhooks::for_instance_by_event),
        );
}
