package grids

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// Cases are the closed loop of the grid model (docs/domain.md): a report
// becomes a case that the supervision centre files (立案) or rejects, the
// command centre dispatches (派遣) to a department, the department handles
// (处置) and reports back, a supervisor checks on site (核查) and the case is
// closed (结案); a failed check sends it back to the department (rework).
// This file is the state machine and who may take each step; the store
// applies a step under the case's row lock and appends it to the case's
// event log.

// CaseState is where a case stands.
type CaseState string

// The states of a case.
const (
	CaseReported   CaseState = "reported"   // 上报: waiting to be filed
	CaseFiled      CaseState = "filed"      // 立案: waiting to be dispatched
	CaseRejected   CaseState = "rejected"   // 不予立案: duplicate or not in scope (final)
	CaseDispatched CaseState = "dispatched" // 派遣: with the department
	CaseHandled    CaseState = "handled"    // 处置反馈: waiting for the on-site check
	CaseVerified   CaseState = "verified"   // 核查通过: waiting to be closed
	CaseClosed     CaseState = "closed"     // 结案 (final)
	CaseSuspended  CaseState = "suspended"  // 挂账/暂停: waiting, with a reason
)

// CaseStates lists every state.
var CaseStates = []CaseState{CaseReported, CaseFiled, CaseRejected, CaseDispatched, CaseHandled, CaseVerified, CaseClosed, CaseSuspended}

// Open reports whether the case still waits for someone.
func (s CaseState) Open() bool { return s != CaseRejected && s != CaseClosed }

// CaseStep is an action on a case.
type CaseStep string

// The steps.
const (
	StepFile     CaseStep = "file"     // reported → filed
	StepReject   CaseStep = "reject"   // reported → rejected (reason; duplicate_of for a duplicate)
	StepDispatch CaseStep = "dispatch" // filed → dispatched (to the routed department, or another with a reason)
	StepHandle   CaseStep = "handle"   // dispatched → handled (the department's note)
	StepVerify   CaseStep = "verify"   // handled → verified
	StepRework   CaseStep = "rework"   // handled → dispatched (the check failed: reason)
	StepClose    CaseStep = "close"    // verified → closed
	StepSuspend  CaseStep = "suspend"  // filed or dispatched → suspended (reason)
	StepResume   CaseStep = "resume"   // suspended → the state it was suspended from
	StepExtend   CaseStep = "extend"   // dispatched → dispatched, the time limit extended (reason, hours)
	StepReturn   CaseStep = "return"   // dispatched → filed: the department returns a wrong dispatch (reason)
)

// CaseSteps lists every step.
var CaseSteps = []CaseStep{StepFile, StepReject, StepDispatch, StepHandle, StepVerify, StepRework, StepClose, StepSuspend, StepResume, StepExtend, StepReturn}

// caseStepFrom is the states each step may be taken from.
var caseStepFrom = map[CaseStep][]CaseState{
	StepFile:     {CaseReported},
	StepReject:   {CaseReported},
	StepDispatch: {CaseFiled},
	StepHandle:   {CaseDispatched},
	StepVerify:   {CaseHandled},
	StepRework:   {CaseHandled},
	StepClose:    {CaseVerified},
	StepSuspend:  {CaseFiled, CaseDispatched},
	StepResume:   {CaseSuspended},
	StepExtend:   {CaseDispatched},
	StepReturn:   {CaseDispatched},
}

// caseStepRoles is who takes each step besides an admin: the supervision
// and command centres' dispatchers file, reject, dispatch, suspend, extend
// and close; the department handles its own cases (or returns one wrongly
// dispatched to it); supervisors check on
// site.
var caseStepRoles = map[CaseStep]Role{
	StepFile:     RoleDispatcher,
	StepReject:   RoleDispatcher,
	StepDispatch: RoleDispatcher,
	StepHandle:   RoleDepartment,
	StepVerify:   RoleSupervisor,
	StepRework:   RoleSupervisor,
	StepClose:    RoleDispatcher,
	StepSuspend:  RoleDispatcher,
	StepResume:   RoleDispatcher,
	StepExtend:   RoleDispatcher,
	StepReturn:   RoleDepartment,
}

// Reasons a case is rejected.
const (
	RejectDuplicate  = "duplicate"
	RejectOutOfScope = "out_of_scope"
)

// Case urgencies.
const (
	UrgencyNormal = "normal"
	UrgencyUrgent = "urgent"
)

// CaseActor is who takes a step: a token's name and role, and for a
// department token its department's code.
type CaseActor struct {
	Name       string
	Role       Role
	Department string
}

// CaseStepRequest is one step asked for.
type CaseStepRequest struct {
	Step CaseStep `json:"step"`
	// Version, when not 0, is the case version the step was decided on: a
	// case changed since is refused (409) instead of stepped.
	Version int `json:"version,omitempty"`
	// Reason: required to reject, rework, suspend, extend, and to dispatch
	// to another department than routing chose.
	Reason string `json:"reason,omitempty"`
	// Note: what the department did (required to handle), or any remark.
	Note string `json:"note,omitempty"`
	// Department: dispatch to this department instead of the routed one.
	Department string `json:"department,omitempty"`
	// RejectKind: duplicate or out_of_scope (reject); DuplicateOf: the open
	// case a duplicate joins.
	RejectKind  string `json:"reject_kind,omitempty"`
	DuplicateOf int64  `json:"duplicate_of,omitempty"`
	// Hours: working hours a time limit is extended by (extend).
	Hours float64 `json:"hours,omitempty"`
}

// Case is a case as stored.
type Case struct {
	ID            int64          `json:"id"`
	State         CaseState      `json:"state"`
	SuspendedFrom CaseState      `json:"suspended_from,omitempty"`
	Version       int            `json:"version"`
	Created       time.Time      `json:"created"`
	Updated       time.Time      `json:"updated"`
	ReportID      int64          `json:"report_id"`
	Reports       []int64        `json:"reports"`
	Class         ClassInfo      `json:"class"`
	Component     string         `json:"component,omitempty"`
	Description   string         `json:"description"`
	Urgency       string         `json:"urgency"`
	Location      orb.Point      `json:"location"` // WGS-84
	Grid          geo.Code       `json:"grid"`
	Community     string         `json:"community"`
	Street        string         `json:"street"`
	District      string         `json:"district"`
	Mgmt          []string       `json:"mgmt_grids"`
	Routed        *DepartmentRef `json:"routed_department"`
	Department    *DepartmentRef `json:"department"`
	RejectKind    string         `json:"reject_kind,omitempty"`
	DuplicateOf   int64          `json:"duplicate_of,omitempty"`
	Reworks       int            `json:"reworks"`
	ExtendedHours float64        `json:"extended_hours"`
	Reporter      string         `json:"reporter"`
	// The time limit of the stage the case is in (as written: 1wd, 4h...),
	// when it ends, whether it has passed and the time left in the limit's
	// measure (working seconds for work hours and work days), negative when
	// overdue. A suspended case's clock stands still from SuspendedAt.
	TimeLimit   string      `json:"time_limit,omitempty"`
	Deadline    *time.Time  `json:"deadline,omitempty"`
	Overdue     bool        `json:"overdue"`
	RemainingS  *float64    `json:"remaining_s,omitempty"`
	SuspendedAt *time.Time  `json:"suspended_at,omitempty"`
	Events      []CaseEvent `json:"events,omitempty"`
	// Duplicates are open cases of the same class reported nearby shortly
	// before, offered for merging when the case is reported.
	Duplicates []CaseRef `json:"possible_duplicates,omitempty"`
}

// CaseRef names another case.
type CaseRef struct {
	ID        int64     `json:"id"`
	State     CaseState `json:"state"`
	DistanceM float64   `json:"distance_m"`
	Created   time.Time `json:"created"`
}

// CaseEvent is one entry of a case's append-only log.
type CaseEvent struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role"`
	Step       string    `json:"step"` // "report" or a CaseStep
	From       CaseState `json:"from,omitempty"`
	To         CaseState `json:"to"`
	Department string    `json:"department,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// NewCase is a report to open a case for: a routed report and what the
// reporter said.
type NewCase struct {
	Routed      Routed
	Request     RouteRequest
	Role        Role // the reporter's role, for the log
	Description string
	Urgency     string
}

// CaseFilter selects cases to list.
type CaseFilter struct {
	IDs        []int64     // any of these cases (none: any case)
	Classes    []Class     // of any of these classes (none: any class)
	States     []CaseState // in any of these states, besides State
	State      CaseState
	Department string
	Area       geo.Code // a district, street, community or grid code
	Since      time.Time
	Until      time.Time
	Limit      int
	AfterID    int64
}

// CaseStore keeps cases.
type CaseStore interface {
	// OpenCase stores a new case in state reported for a routed report,
	// with the open cases that may be the same problem.
	OpenCase(ctx context.Context, c NewCase) (Case, error)
	// Case returns a case with its reports and event log.
	Case(ctx context.Context, id int64) (Case, error)
	// Cases lists cases, newest first.
	Cases(ctx context.Context, f CaseFilter) ([]Case, error)
	// StepCase takes a step on a case (CheckCaseStep decides whether it
	// may), under the case's row lock, and appends it to the log.
	StepCase(ctx context.Context, id int64, req CaseStepRequest, who CaseActor) (Case, error)
}

// ErrForbidden: the caller's role may not do this (403).
var ErrForbidden = errors.New("forbidden")

// CaseStepTo checks that who may take req on c as it stands and returns the
// state the case moves to. A role that may never take the step, or a
// department acting on another department's case, is ErrForbidden; a step
// the case's state does not allow, or a stale version, is ErrConflict;
// missing reasons are invalid.
func CaseStepTo(c Case, req CaseStepRequest, who CaseActor) (CaseState, error) {
	from, ok := caseStepFrom[req.Step]
	if !ok {
		return "", Invalid("step", "unknown step %q; want one of %s", req.Step, joinSteps())
	}
	need := caseStepRoles[req.Step]
	if who.Role != RoleAdmin && who.Role != need {
		return "", fmt.Errorf("%w: step %s needs a %s token (or admin); %s has role %s", ErrForbidden, req.Step, need, who.Name, who.Role)
	}
	if who.Role == RoleDepartment && (c.Department == nil || c.Department.Code != who.Department) {
		return "", fmt.Errorf("%w: case %d is not with department %s", ErrForbidden, c.ID, who.Department)
	}
	if req.Version != 0 && req.Version != c.Version {
		return "", fmt.Errorf("%w: case %d is at version %d, not %d: reload it", ErrConflict, c.ID, c.Version, req.Version)
	}
	allowed := false
	for _, s := range from {
		allowed = allowed || s == c.State
	}
	if !allowed {
		return "", fmt.Errorf("%w: case %d is %s; %s needs it %s", ErrConflict, c.ID, c.State, req.Step, joinStates(from))
	}
	reason := strings.TrimSpace(req.Reason)
	switch req.Step {
	case StepReject:
		switch req.RejectKind {
		case RejectDuplicate:
			if req.DuplicateOf <= 0 || req.DuplicateOf == c.ID {
				return "", Invalid("duplicate_of", "a duplicate names the open case it repeats")
			}
		case RejectOutOfScope:
		default:
			return "", Invalid("reject_kind", "want %s or %s", RejectDuplicate, RejectOutOfScope)
		}
		if reason == "" && req.RejectKind != RejectDuplicate {
			return "", Invalid("reason", "is required to reject a case")
		}
	case StepRework, StepSuspend, StepReturn:
		if reason == "" {
			return "", Invalid("reason", "is required to %s a case", req.Step)
		}
	case StepExtend:
		if reason == "" {
			return "", Invalid("reason", "is required to extend a time limit")
		}
		if !(req.Hours > 0 && req.Hours <= 1000) {
			return "", Invalid("hours", "%g: want working hours in (0, 1000]", req.Hours)
		}
	case StepHandle:
		if strings.TrimSpace(req.Note) == "" {
			return "", Invalid("note", "is required: what the department did")
		}
	case StepDispatch:
		if req.Department != "" && (c.Routed == nil || req.Department != c.Routed.Code) && reason == "" {
			return "", Invalid("reason", "is required to dispatch to another department than routing chose")
		}
		if req.Department == "" && c.Routed == nil {
			return "", Invalid("department", "routing found no department for this case: name one, with a reason")
		}
	}
	switch req.Step {
	case StepFile, StepReturn:
		return CaseFiled, nil
	case StepReject:
		return CaseRejected, nil
	case StepDispatch, StepRework, StepExtend:
		return CaseDispatched, nil
	case StepHandle:
		return CaseHandled, nil
	case StepVerify:
		return CaseVerified, nil
	case StepClose:
		return CaseClosed, nil
	case StepSuspend:
		return CaseSuspended, nil
	case StepResume:
		return c.SuspendedFrom, nil
	}
	return "", Invalid("step", "unknown step %q", req.Step)
}

// ParseCaseState reads a state name.
func ParseCaseState(s string) (CaseState, error) {
	for _, st := range CaseStates {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Invalid("state", "unknown state %q; want one of %s", s, joinStates(CaseStates))
}

func joinSteps() string {
	var b []string
	for _, s := range CaseSteps {
		b = append(b, string(s))
	}
	return strings.Join(b, ", ")
}

func joinStates(states []CaseState) string {
	var b []string
	for _, s := range states {
		b = append(b, string(s))
	}
	return strings.Join(b, " or ")
}
