"""Conversions between scheduler records and their protobuf messages."""

from __future__ import annotations

from typing import cast

from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import ParseDict

from switchboard.scheduler.v1 import scheduler_pb2 as pb
from switchboard.server.scheduler.model import (
    Approval,
    Blackout,
    Decision,
    Hit,
    HitOutcome,
    Optimization,
    Policy,
    Schedule,
    ScheduleState,
    Ticket,
    TicketState,
    Vnf,
    VnfState,
)
from switchboard.server.scheduler.optimizer import Objective, Reason
from switchboard.server.timestamps import from_micros

STATE_TO_PB = {s: cast(pb.ScheduleState, pb.ScheduleState.Value(f"SCHEDULE_STATE_{s.value}"))
               for s in ScheduleState}
STATE_FROM_PB = {v: k for k, v in STATE_TO_PB.items()}
VNF_STATE_TO_PB = {s: cast(pb.VnfState, pb.VnfState.Value(f"VNF_STATE_{s.value}"))
                   for s in VnfState}
REASON_TO_PB = {r: cast(pb.NotScheduledReason, pb.NotScheduledReason.Value(
    f"NOT_SCHEDULED_REASON_{r.value.upper()}")) for r in Reason}
DECISION_TO_PB = {d: cast(pb.ApprovalDecision, pb.ApprovalDecision.Value(
    f"APPROVAL_DECISION_{d.value}")) for d in Decision}
DECISION_FROM_PB = {v: k for k, v in DECISION_TO_PB.items()}
GAP_TO_PB = {o.value: cast(pb.GapObjective, pb.GapObjective.Value(
    f"GAP_OBJECTIVE_{o.value.upper()}")) for o in Objective}
WEEKDAY_FROM_PB = {cast(pb.Weekday, pb.Weekday.Value(f"WEEKDAY_{name}")): i
                   for i, name in enumerate(
    ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"))}
WEEKDAY_TO_PB = {v: k for k, v in WEEKDAY_FROM_PB.items()}
TICKET_STATE_TO_PB = {s: cast(pb.TicketState, pb.TicketState.Value(f"TICKET_STATE_{s.value}"))
                      for s in TicketState}
TICKET_STATE_FROM_PB = {v: k for k, v in TICKET_STATE_TO_PB.items()}
OUTCOME_TO_PB = {o: cast(pb.BlackoutHitOutcome, pb.BlackoutHitOutcome.Value(
    f"BLACKOUT_HIT_OUTCOME_{o.value}")) for o in HitOutcome}


def duration_pb(micros: int) -> Duration:
    seconds, rest = divmod(micros, 1_000_000)
    return Duration(seconds=seconds, nanos=rest * 1000)


def vnf_pb(v: Vnf) -> pb.Vnf:
    out = pb.Vnf(name=v.name, group=v.group, network_elements=v.elements, time_zone=v.time_zone,
                 state=VNF_STATE_TO_PB[v.state], status_message=v.message,
                 so_request_id=v.so_request_id)
    ParseDict(v.so_request, out.so_request)
    if v.reason is not None:
        out.not_scheduled_reason = REASON_TO_PB[v.reason]
    if v.start is not None:
        out.start_time.CopyFrom(from_micros(v.start))
    if v.end is not None:
        out.end_time.CopyFrom(from_micros(v.end))
    if v.trigger_time is not None:
        out.trigger_time.CopyFrom(from_micros(v.trigger_time))
    return out


def policy_pb(p: Policy) -> pb.AllowedTimePolicy:
    return pb.AllowedTimePolicy(
        weekdays=[WEEKDAY_TO_PB[d] for d in p.weekdays],
        start_time=pb.LocalTime(hours=p.start.hour, minutes=p.start.minute),
        end_time=pb.LocalTime(hours=p.end.hour, minutes=p.end.minute),
    )


def optimization_pb(o: Optimization) -> pb.OptimizationResult:
    out = pb.OptimizationResult(
        scheduled_count=o.scheduled, count_bound=o.count_bound, proven_optimal=o.proven_optimal,
        gap=o.gap, gap_on=GAP_TO_PB[o.gap_on], method=o.method,
        optimize_time=from_micros(o.time))
    if o.finish is not None:
        out.finish_time.CopyFrom(from_micros(o.finish))
    if o.finish_bound is not None:
        out.finish_bound.CopyFrom(from_micros(o.finish_bound))
    return out


def approval_pb(a: Approval) -> pb.Approval:
    return pb.Approval(user=a.user, decision=DECISION_TO_PB[a.decision], comment=a.comment,
                       approve_time=from_micros(a.time))


def schedule_pb(s: Schedule) -> pb.Schedule:
    out = pb.Schedule(
        id=s.id, name=s.name, domain=s.domain, user=s.user, workflow_name=s.workflow_name,
        callback_data=s.callback_data, vnfs=[vnf_pb(v) for v in s.vnfs],
        change_windows=[pb.TimeWindow(start_time=from_micros(w.start),
                                      end_time=from_micros(w.end)) for w in s.windows],
        normal_duration=duration_pb(s.normal_duration),
        additional_duration=duration_pb(s.additional_duration),
        concurrency_limit=s.concurrency_limit, state=STATE_TO_PB[s.state],
        status_message=s.message, create_time=from_micros(s.create_time),
        update_time=from_micros(s.update_time), revision=s.revision, project=s.project,
    )
    if s.policy is not None:
        out.allowed_time_policy.CopyFrom(policy_pb(s.policy))
    if s.optimization is not None:
        out.optimization.CopyFrom(optimization_pb(s.optimization))
    if s.approval is not None:
        out.approval.CopyFrom(approval_pb(s.approval))
    return out


def blackout_pb(b: Blackout) -> pb.Blackout:
    return pb.Blackout(id=b.id, network_elements=b.elements, start_time=from_micros(b.start),
                       end_time=from_micros(b.end), reason=b.reason,
                       create_time=from_micros(b.create_time), revision=b.revision,
                       project=b.project)


def ticket_pb(t: Ticket) -> pb.Ticket:
    return pb.Ticket(
        id=t.id, schedule_id=t.schedule_id, state=TICKET_STATE_TO_PB[t.state], summary=t.summary,
        updates=[pb.TicketUpdate(state=TICKET_STATE_TO_PB[u.state], note=u.note,
                                 update_time=from_micros(u.time)) for u in t.updates],
        create_time=from_micros(t.create_time), update_time=from_micros(t.update_time))


def hit_pb(h: Hit) -> pb.BlackoutHit:
    out = pb.BlackoutHit(
        blackout_id=h.blackout_id, schedule_id=h.schedule_id, vnf_name=h.vnf,
        network_elements=h.elements, outcome=OUTCOME_TO_PB[h.outcome],
        placed=pb.TimeWindow(start_time=from_micros(h.start), end_time=from_micros(h.end)))
    if h.new_start is not None and h.new_end is not None:
        out.placed_again.CopyFrom(pb.TimeWindow(start_time=from_micros(h.new_start),
                                                end_time=from_micros(h.new_end)))
    if h.reason is not None:
        out.not_scheduled_reason = REASON_TO_PB[h.reason]
    return out
