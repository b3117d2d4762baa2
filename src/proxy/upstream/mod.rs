//! The application servers behind a route: choosing one (balancing,
//! health), connections to them kept in a pool, HTTP/1.1 spoken over those
//! connections, and upgraded connections tunnelled through.

pub mod forward;
pub mod group;
pub mod health;
pub mod http1;
pub mod pool;
pub mod tunnel;
