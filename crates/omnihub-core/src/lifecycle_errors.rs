//! Why a management call failed: a class a caller maps to an answer, and a sentence that
//! says what to do.

use omnihub_evolution::EvolutionError;

/// Why a management call failed, as a class a caller maps to an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleProblem {
    /// omnihub lacks what the call needs (the instance's Evolution URL or key,
    /// `OMNIHUB_PUBLIC_URL`).
    NotConfigured,
    /// Evolution could not be reached (refused, timed out, redirected, a bad URL).
    Unreachable,
    /// Evolution refused the key (401).
    Unauthorized,
    /// Evolution already has an instance of that name (403 on create).
    NameInUse,
    /// Evolution does not know the instance (404).
    NotFound,
    /// The Evolution server must be activated (503 `LICENSE_REQUIRED`).
    NotActivated,
    /// Evolution refused the call (another status, or `"error": true` in a 200).
    Rejected,
}

impl LifecycleProblem {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::Unreachable => "evolution_unreachable",
            Self::Unauthorized => "evolution_unauthorized",
            Self::NameInUse => "evolution_name_in_use",
            Self::NotFound => "evolution_instance_not_found",
            Self::NotActivated => "evolution_not_activated",
            Self::Rejected => "evolution_error",
        }
    }
}

/// The class of `err` and a sentence saying what to do, for the Evolution instance `remote`
/// of the omnihub instance `name`.
pub(crate) fn classify(err: &EvolutionError, name: &str, remote: &str) -> (LifecycleProblem, String) {
    use LifecycleProblem as P;
    match err {
        EvolutionError::Timeout(_)
        | EvolutionError::Connect(_)
        | EvolutionError::Request(_)
        | EvolutionError::Redirected { .. } => (
            P::Unreachable,
            format!("{err}; check that Evolution is running and that the instance's evolution_url is right (omnihub-instance update {name} --evolution-url URL)"),
        ),
        EvolutionError::Status { status: 401, .. } => (
            P::Unauthorized,
            format!("Evolution refused the instance's key (401); set the right one with: omnihub-instance update {name} --evolution-key KEY"),
        ),
        EvolutionError::Status { status: 403, message } => (
            P::NameInUse,
            format!("Evolution refused (403): {message}; another Evolution instance may already use the name '{remote}': pick another whatsapp_instance or import it"),
        ),
        EvolutionError::Status { status: 404, .. } => (
            P::NotFound,
            format!("Evolution has no instance named '{remote}'; create it with: omnihub-instance connect {name}"),
        ),
        EvolutionError::NotActivated { .. } => (P::NotActivated, err.to_string()),
        EvolutionError::ErrorBody(message) => (
            P::Rejected,
            format!("Evolution answered 200 but reported an error ({message}); the instance '{remote}' may not be loaded on the Evolution server: restart Evolution, or delete it there (omnihub-instance logout / DELETE …/whatsapp) and connect again"),
        ),
        _ => (P::Rejected, format!("{err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_evolution_error_class_says_what_to_do() {
        let status = |status| EvolutionError::Status {
            status,
            message: "m".into(),
        };
        let cases = [
            (
                EvolutionError::Connect("refused".into()),
                LifecycleProblem::Unreachable,
                "evolution_url",
            ),
            (status(401), LifecycleProblem::Unauthorized, "--evolution-key"),
            (status(403), LifecycleProblem::NameInUse, "already use"),
            (
                status(404),
                LifecycleProblem::NotFound,
                "omnihub-instance connect shop",
            ),
            (
                EvolutionError::NotActivated {
                    register_url: Some("https://evo/manager/login".into()),
                },
                LifecycleProblem::NotActivated,
                "https://evo/manager/login",
            ),
            (
                EvolutionError::ErrorBody("[object Object]".into()),
                LifecycleProblem::Rejected,
                "[object Object]",
            ),
            (status(500), LifecycleProblem::Rejected, "500"),
        ];
        for (err, problem, hint) in cases {
            let (class, message) = classify(&err, "shop", "wa_shop");
            assert_eq!(class, problem, "{err}");
            assert!(message.contains(hint), "{message}");
        }
    }
}
