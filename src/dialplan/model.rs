//! Dialplan types.
pub struct Dialplan;
