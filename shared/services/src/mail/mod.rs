//! Retention mail: the sweep that finds the customers due through the indexes, decides with the
//! domain, claims each send, issues its code, renders, and hands the message to the mailer.

mod asked;
mod confirmation;
pub mod feedback;
pub mod links;
pub mod message;
mod new_link;
mod prepare;
pub mod render;
mod schedule;
mod send;
mod sources;
pub mod sweep;

pub use render::{MailRenderer, MailView, RenderedMail};
pub use sweep::{MailSweep, MailSweepError, MailSweepReport, Pacer};
