//! One call's conversation, sans-IO: prompts, listening, barge-in, the dialplan flow.
