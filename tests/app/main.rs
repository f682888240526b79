//! Integration tests: the real app, a real SQLite file, real zip files, real
//! multipart bodies. One test binary, modules inside.

mod access;
mod admin;
mod api;
mod browser;
mod fixture;
mod hostile;
mod import;
mod marking;
mod proxy;
mod restart;
mod routes;
mod rush;
mod server;
mod sessions;
mod support;
mod throttle;
mod upload;
