//! RTP, sans-IO: packets, jitter buffer, RFC 4733 DTMF and the paced sender.
