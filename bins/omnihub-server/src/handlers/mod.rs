//! HTTP handlers, one module per resource.

pub mod instances;
pub mod ops;
