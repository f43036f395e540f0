//! The switchboard's outbound legs: dialling an agent's phone, an outside
//! number or a callback's two legs, and cleaning up when a try fails or a
//! callback ends. Part of [`Switchboard`]; split out to keep files short.

use super::*;

impl Switchboard {
    pub(super) async fn dial(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        ports: &RtpPorts,
        calls: &Calls,
        dial: Dial,
    ) {
        match dial {
            Dial::Outside {
                call,
                target,
                fallback,
                referred_by,
            } => {
                let Some(q) = self.queued.get(&call).cloned() else {
                    return; // the caller left meanwhile
                };
                let headers = handoff_headers(&q, self.http_base.as_deref());
                let placed = self
                    .place(now_ms, endpoint, ports, &target, &q.called, &headers)
                    .await;
                match placed {
                    Ok((leg, socket)) => {
                        // Whatever rang for the caller before stops.
                        if let Some(old) = self.leg_of.insert(call.clone(), leg)
                            && self.legs.get(&old).is_some_and(|l| !l.answered)
                        {
                            self.legs.remove(&old);
                            endpoint.hangup(now_ms, old);
                        }
                        self.legs.insert(
                            leg,
                            Leg {
                                call_id: call.clone(),
                                caller: Some(q.handle),
                                role: Role::Outside {
                                    target: target.clone(),
                                    fallback,
                                    referred_by,
                                },
                                answered: false,
                                released: false,
                                give_up_at: Some(now_ms + OUTSIDE_RING_MS),
                            },
                        );
                        if let Some(tx) = calls.get(&q.handle) {
                            let _ = tx.try_send(CallMsg::AgentRinging {
                                leg,
                                agent: target,
                                socket,
                                after_ms: now_ms.saturating_sub(q.decided_at_ms),
                            });
                        }
                    }
                    Err(reason) => {
                        tracing::warn!(%call, %target, "cannot put the caller through: {reason}");
                        self.outside_failed(now_ms, endpoint, &call, &fallback, referred_by, 503);
                    }
                }
            }
            Dial::CallbackCaller { call } => {
                let Some(q) = self.callbacks.get(&call).cloned() else {
                    return;
                };
                if !self.runs.contains_key(&call) {
                    return; // the agent left meanwhile
                }
                // Through a gateway the number is dialled; straight, the
                // phone the caller called from.
                let dialable = !q.caller.trim().is_empty()
                    && q.caller
                        .chars()
                        .all(|c| c.is_ascii_digit() || "+*#".contains(c));
                let target = match (&self.acd.config().outbound_proxy, dialable) {
                    (Some(_), true) => q.caller.clone(),
                    _ => q.reach.clone(),
                };
                match self
                    .place(now_ms, endpoint, ports, &target, &q.called, &[])
                    .await
                {
                    Ok((leg, socket)) => {
                        self.legs.insert(
                            leg,
                            Leg {
                                call_id: call.clone(),
                                caller: None,
                                role: Role::CallbackCaller,
                                answered: false,
                                released: false,
                                give_up_at: Some(now_ms + CALLBACK_RING_MS),
                            },
                        );
                        if let Some(run) = self.runs.get_mut(&call) {
                            run.caller_leg = Some(leg);
                            if let Some(task) = &run.task {
                                let _ =
                                    task.try_send(CallbackMsg::CallerRinging { socket, target });
                            }
                        }
                    }
                    Err(reason) => {
                        tracing::warn!(%call, %target, "cannot dial the callback: {reason}");
                        self.callback_failed(now_ms, endpoint, &call, "caller_unreachable");
                    }
                }
            }
        }
    }

    /// INVITEs an outside `target` (or a registered agent it names) with an
    /// RTP socket of its own.
    pub(super) async fn place(
        &self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        ports: &RtpPorts,
        target: &str,
        from_user: &str,
        headers: &[(String, String)],
    ) -> Result<(CallHandle, RtpSocket), String> {
        let route = match self.registered_agent(endpoint, target) {
            Some(route) => route,
            None => {
                let proxy = self.acd.config().outbound_proxy.clone();
                outbound::route(target, proxy.as_deref())
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        let socket = ports.bind().ok_or("no free RTP port")?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let from = if is_sip_user(from_user) {
            from_user
        } else {
            "ivr"
        };
        let leg = endpoint
            .invite(now_ms, &route.uri, route.peer, from, local, headers)
            .map_err(|e| e.to_string())?;
        Ok((leg, socket))
    }

    /// A transfer to a colleague (`sip:bob@...` where bob is an agent with
    /// a registered phone) rings that phone rather than the engine itself.
    pub(super) fn registered_agent(
        &self,
        endpoint: &Endpoint,
        target: &str,
    ) -> Option<OutboundRoute> {
        if !crate::sip::uri::is_sip_scheme(target) {
            return None;
        }
        let user = crate::sip::uri::parse_sip(target).ok()?.user?;
        self.acd.agent(user)?;
        let (uri, peer) = endpoint.registration(user)?;
        Some(OutboundRoute { uri, peer })
    }

    /// An outside number was not reached: the agent who passed the caller
    /// on keeps them if still there; otherwise the caller waits for an agent
    /// again, first in line.
    pub(super) fn outside_failed(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        id: &str,
        fallback: &str,
        referred_by: Option<CallHandle>,
        status: u16,
    ) {
        if let Some(agent_leg) = referred_by
            && let Some(leg) = self.legs.get_mut(&agent_leg)
        {
            leg.released = false;
            self.leg_of.insert(id.to_string(), agent_leg);
            let _ = endpoint.refer_status(now_ms, agent_leg, status.max(300));
            return;
        }
        let Some(q) = self.queued.get_mut(id) else {
            return;
        };
        q.queue = fallback.to_string();
        let input = AcdInput::CallerQueued {
            call: q.id.clone(),
            queue: q.queue.clone(),
            caller: q.caller.clone(),
            agitated: q.agitated,
            agitation: q.agitation,
            repeat: q.repeat,
            summary: q.summary.clone(),
        };
        self.acd_input(now_ms, input);
        self.acd_input(
            now_ms,
            AcdInput::ToFront {
                call: id.to_string(),
            },
        );
    }

    /// The callback's try did not reach the caller: the agent is free
    /// again and the ACD tries later.
    pub(super) fn callback_failed(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        id: &str,
        reason: &str,
    ) {
        self.end_run(now_ms, endpoint, id, reason);
        self.acd_input(
            now_ms,
            AcdInput::CallbackFailed {
                call: id.to_string(),
            },
        );
    }

    /// The callback's call is over: the agent goes to wrap-up.
    pub(super) fn callback_over(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        id: &str,
        reason: &str,
    ) {
        self.end_run(now_ms, endpoint, id, reason);
        self.callbacks.remove(id);
        self.tries.remove(id);
        self.acd_input(
            now_ms,
            AcdInput::CallEnded {
                call: id.to_string(),
            },
        );
    }

    pub(super) fn end_run(&mut self, now_ms: u64, endpoint: &mut Endpoint, id: &str, reason: &str) {
        self.leg_of.remove(id);
        let Some(run) = self.runs.remove(id) else {
            return;
        };
        for leg in [Some(run.agent_leg), run.caller_leg].into_iter().flatten() {
            if self.legs.remove(&leg).is_some() {
                endpoint.hangup(now_ms, leg);
            }
        }
        if let Some(task) = run.task {
            let reason = reason.to_string();
            let _ = task.try_send(CallbackMsg::Ended { reason });
        }
        tracing::info!(call = %id, agent = %run.agent, %reason, "callback try over");
    }
}
