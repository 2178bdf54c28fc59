package grids

import (
	"errors"
	"fmt"
	"testing"
)

// The loop as docs/domain.md tells it, written out row by row: from which
// state, which step, taken by which role, leads where. Everything else is
// refused.
var caseLoopSpec = []struct {
	from CaseState
	via  CaseState // for suspended: the state it was suspended from
	step CaseStep
	role Role
	to   CaseState
}{
	{CaseReported, "", StepFile, RoleDispatcher, CaseFiled},
	{CaseReported, "", StepReject, RoleDispatcher, CaseRejected},
	{CaseFiled, "", StepDispatch, RoleDispatcher, CaseDispatched},
	{CaseFiled, "", StepSuspend, RoleDispatcher, CaseSuspended},
	{CaseDispatched, "", StepHandle, RoleDepartment, CaseHandled},
	{CaseDispatched, "", StepSuspend, RoleDispatcher, CaseSuspended},
	{CaseDispatched, "", StepExtend, RoleDispatcher, CaseDispatched},
	{CaseDispatched, "", StepReturn, RoleDepartment, CaseFiled},
	{CaseHandled, "", StepVerify, RoleSupervisor, CaseVerified},
	{CaseHandled, "", StepRework, RoleSupervisor, CaseDispatched},
	{CaseVerified, "", StepClose, RoleDispatcher, CaseClosed},
	{CaseSuspended, CaseFiled, StepResume, RoleDispatcher, CaseFiled},
	{CaseSuspended, CaseDispatched, StepResume, RoleDispatcher, CaseDispatched},
}

// stepRequest fills in what each step needs besides who and when.
func stepRequest(step CaseStep) CaseStepRequest {
	req := CaseStepRequest{Step: step}
	switch step {
	case StepReject:
		req.RejectKind, req.Reason = RejectOutOfScope, "a private courtyard"
	case StepRework, StepSuspend, StepReturn:
		req.Reason = "because"
	case StepExtend:
		req.Reason, req.Hours = "parts on order", 8
	case StepHandle:
		req.Note = "replaced the cover"
	}
	return req
}

// Every state (suspended from each state it can be suspended from) × every
// step × every role, and a department acting on its own case and on
// another's: the allowed ones lead where the spec says, a role that may
// never take the step is forbidden, a step the state does not allow is a
// conflict.
func TestCaseStepsExhaustive(t *testing.T) {
	const own, other = "111101010000000001", "111101010000000002"
	type at struct{ state, via CaseState }
	var states []at
	for _, s := range CaseStates {
		if s == CaseSuspended {
			states = append(states, at{s, CaseFiled}, at{s, CaseDispatched})
		} else {
			states = append(states, at{s, ""})
		}
	}
	stepRole := map[CaseStep]Role{}
	for _, r := range caseLoopSpec {
		stepRole[r.step] = r.role
	}
	if len(stepRole) != len(CaseSteps) {
		t.Fatalf("the spec names %d steps, the state machine %d", len(stepRole), len(CaseSteps))
	}
	checked, allowed := 0, 0
	for _, st := range states {
		for _, step := range CaseSteps {
			for _, role := range Roles {
				for _, dep := range []string{own, other} {
					if dep == other && role != RoleDepartment {
						continue
					}
					c := Case{ID: 7, State: st.state, SuspendedFrom: st.via, Version: 3,
						Routed: &DepartmentRef{Code: own}, Department: &DepartmentRef{Code: own}}
					who := CaseActor{Name: "t", Role: role}
					if role == RoleDepartment {
						who.Department = dep
					}
					name := fmt.Sprintf("%s(%s) %s by %s %s", st.state, st.via, step, role, who.Department)
					var want CaseState
					for _, r := range caseLoopSpec {
						if r.from == st.state && r.via == st.via && r.step == step {
							want = r.to
						}
					}
					roleOK := role == RoleAdmin || (role == stepRole[step] && (role != RoleDepartment || dep == own))
					got, err := CaseStepTo(c, stepRequest(step), who)
					checked++
					switch {
					case !roleOK:
						if !errors.Is(err, ErrForbidden) {
							t.Errorf("%s: got %q, %v; want forbidden", name, got, err)
						}
					case want == "":
						if !errors.Is(err, ErrConflict) {
							t.Errorf("%s: got %q, %v; want a conflict", name, got, err)
						}
					default:
						allowed++
						if err != nil || got != want {
							t.Errorf("%s: got %q, %v; want %s", name, got, err, want)
						}
					}
				}
			}
		}
	}
	t.Logf("%d combinations checked, %d allowed", checked, allowed)
	if allowed != 2*len(caseLoopSpec) { // each spec row by its role and by admin
		t.Errorf("%d combinations allowed, want %d", allowed, 2*len(caseLoopSpec))
	}
}

func TestCaseStepNeeds(t *testing.T) {
	admin := CaseActor{Name: "a", Role: RoleAdmin}
	routed := &DepartmentRef{Code: "111101010000000001"}
	for _, c := range []struct {
		state CaseState
		req   CaseStepRequest
		field string
	}{
		{CaseReported, CaseStepRequest{Step: StepReject, RejectKind: RejectOutOfScope}, "reason"},
		{CaseReported, CaseStepRequest{Step: StepReject, Reason: "x"}, "reject_kind"},
		{CaseReported, CaseStepRequest{Step: StepReject, RejectKind: RejectDuplicate}, "duplicate_of"},
		{CaseReported, CaseStepRequest{Step: StepReject, RejectKind: RejectDuplicate, DuplicateOf: 7}, "duplicate_of"}, // itself
		{CaseHandled, CaseStepRequest{Step: StepRework}, "reason"},
		{CaseFiled, CaseStepRequest{Step: StepSuspend, Reason: "  "}, "reason"},
		{CaseDispatched, CaseStepRequest{Step: StepExtend, Hours: 8}, "reason"},
		{CaseDispatched, CaseStepRequest{Step: StepExtend, Reason: "x"}, "hours"},
		{CaseDispatched, CaseStepRequest{Step: StepExtend, Reason: "x", Hours: 5000}, "hours"},
		{CaseDispatched, CaseStepRequest{Step: StepHandle}, "note"},
		{CaseFiled, CaseStepRequest{Step: StepDispatch, Department: "111101010000000009"}, "reason"},
		{CaseFiled, CaseStepRequest{Step: "escalate"}, "step"},
	} {
		_, err := CaseStepTo(Case{ID: 7, State: c.state, Version: 1, Routed: routed}, c.req, admin)
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Field != c.field {
			t.Errorf("%s on %s %+v: %v; want invalid %s", c.req.Step, c.state, c.req, err, c.field)
		}
	}
	// No department from routing: dispatching must name one.
	if _, err := CaseStepTo(Case{ID: 7, State: CaseFiled, Version: 1}, CaseStepRequest{Step: StepDispatch}, admin); err == nil {
		t.Error("dispatch without a routed department or a named one was allowed")
	}
	// A stale version is a conflict even for an allowed step.
	_, err := CaseStepTo(Case{ID: 7, State: CaseReported, Version: 4}, CaseStepRequest{Step: StepFile, Version: 3}, admin)
	if !errors.Is(err, ErrConflict) {
		t.Errorf("stale version: %v, want a conflict", err)
	}
	if to, err := CaseStepTo(Case{ID: 7, State: CaseReported, Version: 4}, CaseStepRequest{Step: StepFile, Version: 4}, admin); err != nil || to != CaseFiled {
		t.Errorf("current version: %q %v", to, err)
	}
}
