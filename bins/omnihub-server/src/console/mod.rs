//! The admin console at `/admin`: server-rendered pages (askama templates) over the same
//! stores and pipeline as the API, a little plain JavaScript for refreshing and
//! confirmations, and a stylesheet, both embedded in the binary (no CDN, no build step).

pub mod chats;
pub mod connect;
pub mod instances;
pub mod messages;
pub mod page;
pub mod session;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// The stylesheet, embedded.
const CSS: &str = include_str!("../../static/console.css");
/// The script, embedded: refreshes `[data-refresh]` parts and asks `[data-confirm]` forms.
const JS: &str = include_str!("../../static/console.js");

/// The console's routes, under `/admin`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(connect::QrMemo::default())).service(
        web::scope("/admin")
            .service(web::resource("").get(instances::dashboard))
            .service(
                web::resource("/login")
                    .get(session::login_page)
                    .post(session::sign_in),
            )
            .service(web::resource("/logout").post(session::sign_out))
            .service(web::resource("/static/console.css").get(|| async { asset(CSS, "text/css") }))
            .service(web::resource("/static/console.js").get(|| async { asset(JS, "text/javascript") }))
            .service(web::resource("/fragments/instances").get(instances::cards))
            .service(web::resource("/instances").post(instances::create))
            .service(web::resource("/instances/new").get(instances::new_form))
            .service(
                web::resource("/instances/{name}/edit")
                    .get(instances::edit_form)
                    .post(instances::update),
            )
            .service(
                web::resource("/instances/{name}/connect")
                    .get(connect::page)
                    .post(connect::start),
            )
            .service(web::resource("/instances/{name}/connect/state").get(connect::state))
            .service(web::resource("/instances/{name}/actions/{action}").post(connect::action))
            .service(web::resource("/instances/{name}/chats").get(chats::list))
            .service(web::resource("/instances/{name}/chats/{chat}").get(chats::conversation))
            .service(web::resource("/instances/{name}/chats/{chat}/{action}").post(chats::act))
            .service(web::resource("/messages").get(messages::log))
            .service(web::resource("/messages/{id}").get(messages::detail))
            .service(web::resource("/messages/{id}/retry").post(messages::retry)),
    );
}

fn asset(body: &'static str, content_type: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(format!("{content_type}; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}
