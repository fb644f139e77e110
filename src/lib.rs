//! Townhall: a self-hosted community forum and knowledge base for customer support.

pub mod accounts;
pub mod benchseed;
pub mod changelog;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod followers;
pub mod forms;
pub mod forum;
pub mod ideas;
pub mod kb;
pub mod markdown;
pub mod notifications;
pub mod scheduler;
pub mod search;
pub mod settings;
pub mod status;
pub mod subject;
pub mod tokens;
pub mod web;
