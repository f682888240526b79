//! Integration tests: the real app, a real database (an SQLite file, and
//! PostgreSQL when `HANDIN_TEST_DATABASE_URL` is set), real zip files, real
//! multipart bodies. One test binary, modules inside.

mod access;
mod admin;
mod api;
mod browser;
mod bucket;
mod calendar;
mod database;
mod evidence;
mod feedback;
mod fixture;
mod garage;
mod hostile;
mod import;
mod instances;
mod mail;
mod marking;
mod marks;
mod plans;
mod provider;
mod proxy;
mod restart;
mod routes;
mod rush;
mod server;
mod sessions;
mod smtp;
mod sso;
mod support;
mod throttle;
mod tokens;
mod transfer;
mod upload;
