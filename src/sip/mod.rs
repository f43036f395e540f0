//! SIP, sans-IO: messages, transactions, dialogs, SDP offer/answer and the user agent core.
