//! Lifecycle webhooks (`connection.update`, `qrcode.updated`, `logout.instance`,
//! `remove.instance`) become stored connection reports; a report that opens the number
//! releases its held replies, one that closes it is logged as a warning with the reason.

use omnihub_db::Database;
use omnihub_domain::{disconnect_reason, ConnectionReport, ConnectionState, InstanceConfig};
use omnihub_evolution::LifecycleEvent;

use crate::error::blocking;
use crate::ingest::IngestOutcome;
use crate::InstanceCache;

/// Stores what lifecycle webhooks report.
pub(crate) struct ConnectionRecorder {
    pub db: Database,
    pub cache: InstanceCache,
}

/// The report a lifecycle event makes, or `None` when it says nothing omnihub keeps.
pub(crate) fn report_of(event: &LifecycleEvent) -> Option<ConnectionReport> {
    let closed = |code: Option<i64>, reason: String| ConnectionReport {
        state: Some(ConnectionState::Close),
        reason_code: code,
        reason: Some(reason),
        ..ConnectionReport::default()
    };
    match event {
        LifecycleEvent::Connection {
            state,
            reason_code,
            number,
            profile_name,
        } => {
            let state: ConnectionState = state.parse().ok()?;
            let code = reason_code.filter(|c| *c != 200);
            let reason = match state {
                ConnectionState::Close => {
                    Some(code.map_or("the connection closed", disconnect_reason).to_owned())
                }
                ConnectionState::Refused => {
                    Some("the QR code limit was reached without a scan; connect again".to_owned())
                }
                _ => None,
            };
            Some(ConnectionReport {
                state: Some(state),
                reason_code: code,
                reason,
                qr: false,
                number: number.clone(),
                profile_name: profile_name.clone(),
            })
        }
        LifecycleEvent::Qr {
            limit_reached: true, ..
        } => Some(ConnectionReport {
            state: Some(ConnectionState::Refused),
            reason: Some("the QR code limit was reached without a scan; connect again".into()),
            ..ConnectionReport::default()
        }),
        LifecycleEvent::Qr { .. } => Some(ConnectionReport {
            state: Some(ConnectionState::Connecting),
            qr: true,
            ..ConnectionReport::default()
        }),
        LifecycleEvent::LoggedOut => Some(closed(None, "logged out (logout.instance); connect again".into())),
        LifecycleEvent::Removed => Some(closed(
            None,
            "the instance was deleted on Evolution (remove.instance)".into(),
        )),
    }
}

impl ConnectionRecorder {
    /// Stores `event` for `instance`; what the webhook is answered.
    pub(crate) async fn record(&self, instance: &InstanceConfig, event: &LifecycleEvent) -> IngestOutcome {
        let Some(report) = report_of(event) else {
            return IngestOutcome::Ignored("connection.update with an unknown state".into());
        };
        let name = instance.name.to_string();
        let key = name.clone();
        let reported = match blocking(&self.db, move |db| db.connections().report(&key, &report)).await {
            Ok(reported) => reported,
            Err(err) => return IngestOutcome::Unavailable(err.to_string()),
        };
        let state = reported.now.state;
        self.cache.put_connection(&name, reported.now.clone());
        if reported.before != Some(state) {
            let reason = reported.now.reason.as_deref().unwrap_or("none given");
            match state {
                ConnectionState::Close | ConnectionState::Refused => tracing::warn!(
                    instance = %name,
                    state = %state,
                    code = reported.now.reason_code,
                    reason,
                    "the WhatsApp number is not connected; replies are held until it is"
                ),
                _ => {
                    tracing::info!(instance = %name, state = %state, released = reported.released, "connection state changed")
                }
            }
        }
        IngestOutcome::Recorded(state.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(state: &str, code: Option<i64>) -> LifecycleEvent {
        LifecycleEvent::Connection {
            state: state.into(),
            reason_code: code,
            number: None,
            profile_name: None,
        }
    }

    #[test]
    fn events_become_reports_with_reasons() {
        let open = report_of(&connection("open", Some(200))).unwrap();
        assert_eq!(
            (open.state, open.reason_code, open.reason),
            (Some(ConnectionState::Open), None, None)
        );
        let close = report_of(&connection("close", Some(401))).unwrap();
        assert_eq!(close.reason_code, Some(401));
        assert!(close.reason.unwrap().contains("logged out from the phone"));
        let refused = report_of(&connection("refused", Some(428))).unwrap();
        assert_eq!(refused.state, Some(ConnectionState::Refused));
        assert_eq!(report_of(&connection("weird", None)), None);
        let qr = LifecycleEvent::Qr {
            code: Some("2@x".into()),
            pairing_code: None,
            limit_reached: false,
        };
        assert!(report_of(&qr).unwrap().qr);
        let limit = LifecycleEvent::Qr {
            code: None,
            pairing_code: None,
            limit_reached: true,
        };
        assert_eq!(report_of(&limit).unwrap().state, Some(ConnectionState::Refused));
        assert_eq!(
            report_of(&LifecycleEvent::LoggedOut).unwrap().state,
            Some(ConnectionState::Close)
        );
        assert_eq!(
            report_of(&LifecycleEvent::Removed).unwrap().state,
            Some(ConnectionState::Close)
        );
    }
}
