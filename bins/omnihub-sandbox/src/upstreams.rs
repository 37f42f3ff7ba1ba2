//! Starting the fake upstreams (and the trivial "floor" handler) as actix-web servers.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::fakes::{agent_routes, evolution_routes, AgentMode, FakeState};

/// Running fake servers.
pub struct Running {
    /// Base URL of the fake Evolution API.
    pub evolution_url: String,
    /// Base URLs of the fake agents, in the order asked for.
    pub agent_urls: Vec<String>,
    handles: Vec<ServerHandle>,
}

impl Running {
    /// Stops every server.
    pub async fn stop(self) {
        for handle in self.handles {
            handle.stop(true).await;
        }
    }
}

/// One fake agent to start.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// Port (0: any free one).
    pub port: u16,
    /// What it answers.
    pub mode: AgentMode,
    /// How long it thinks.
    pub delay: Duration,
}

fn bound(server: &actix_web::dev::Server, addrs: &[std::net::SocketAddr]) -> String {
    let _ = server;
    addrs.first().map_or_else(String::new, |a| format!("http://{a}"))
}

/// Starts the fake Evolution on `evolution_port` and one fake agent per spec, on loopback,
/// inside the current actix system.
pub fn start(evolution_port: u16, agents: &[AgentSpec], workers: usize) -> std::io::Result<Running> {
    let mut handles = Vec::new();
    let evolution_state = FakeState::new(AgentMode::Echo, Duration::ZERO);
    let world = crate::fake_lifecycle::world();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(evolution_state.clone()))
            .app_data(web::Data::new(world.clone()))
            .app_data(web::JsonConfig::default().limit(64 << 20))
            .configure(evolution_routes)
    })
    .workers(workers)
    .disable_signals()
    .bind(("127.0.0.1", evolution_port))?;
    let addrs = server.addrs();
    let server = server.run();
    let evolution_url = bound(&server, &addrs);
    handles.push(server.handle());
    actix_web::rt::spawn(server);

    let mut agent_urls = Vec::new();
    for spec in agents {
        let state: Arc<FakeState> = FakeState::new(spec.mode.clone(), spec.delay);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::JsonConfig::default().limit(64 << 20))
                .configure(agent_routes)
        })
        .workers(workers)
        .disable_signals()
        .bind(("127.0.0.1", spec.port))?;
        let addrs = server.addrs();
        let server = server.run();
        agent_urls.push(bound(&server, &addrs));
        handles.push(server.handle());
        actix_web::rt::spawn(server);
    }
    Ok(Running {
        evolution_url,
        agent_urls,
        handles,
    })
}

/// The floor: a handler that reads the body and answers 200 without parsing or storing.
pub async fn serve_floor(port: u16, workers: usize) -> std::io::Result<()> {
    let server = HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(64 << 20))
            .default_service(web::to(|_body: web::Bytes| async {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body("{\"status\":\"accepted\"}")
            }))
    })
    .workers(workers)
    .bind(("127.0.0.1", port))?;
    for addr in server.addrs() {
        println!("floor listening on http://{addr}");
    }
    server.run().await
}
