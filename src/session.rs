//! One caller's conversation, sans-IO.
