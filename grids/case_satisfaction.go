package grids

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Reporters' satisfaction (满意度): once a case is closed, its reporter
// says how satisfied they are with how it was dealt with, once; a
// supervisor may record it on the reporter's behalf (a call back, a visit).
// The evaluation's satisfaction rate is the share of ratings satisfied or
// basically satisfied (grids/postgis/evaluation.go).

// The ratings.
const (
	RatingSatisfied      = "satisfied"           // 满意
	RatingBasically      = "basically_satisfied" // 基本满意
	RatingDissatisfied   = "dissatisfied"        // 不满意
	maxSatisfactionNotes = 2000                  // characters of a comment
)

// SatisfactionRequest is a rating given for a closed case.
type SatisfactionRequest struct {
	Rating  string `json:"rating"`
	Comment string `json:"comment,omitempty"`
}

// Satisfaction is a case's rating as stored.
type Satisfaction struct {
	CaseID     int64     `json:"case_id"`
	Rating     string    `json:"rating"`
	Comment    string    `json:"comment,omitempty"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role"`
	OnBehalf   bool      `json:"on_behalf"` // recorded by a supervisor (or admin) for the reporter
	Department string    `json:"department,omitempty"`
	EventID    int64     `json:"event_id"`
}

// CheckSatisfaction checks a rating request's fields.
func CheckSatisfaction(req SatisfactionRequest) error {
	switch req.Rating {
	case RatingSatisfied, RatingBasically, RatingDissatisfied:
	case "":
		return Invalid("rating", "is required: %s, %s or %s", RatingSatisfied, RatingBasically, RatingDissatisfied)
	default:
		return Invalid("rating", "%q: want %s, %s or %s", req.Rating, RatingSatisfied, RatingBasically, RatingDissatisfied)
	}
	if n := len([]rune(strings.TrimSpace(req.Comment))); n > maxSatisfactionNotes {
		return Invalid("comment", "%d characters; at most %d", n, maxSatisfactionNotes)
	}
	return nil
}

// SatisfactionAllowed says whether who may rate case c, and whether on the
// reporter's behalf: the reporter who reported it (a reporter token of the
// same name), a supervisor or an admin for them. Other roles and other
// reporters are ErrForbidden; a case not closed is ErrConflict.
func SatisfactionAllowed(c Case, who CaseActor) (onBehalf bool, err error) {
	switch {
	case who.Role == RoleReporter && who.Name == c.Reporter:
	case who.Role == RoleSupervisor || who.Role == RoleAdmin:
		onBehalf = who.Name != c.Reporter
	case who.Role == RoleReporter:
		return false, fmt.Errorf("%w: case %d was reported by another reporter: only its reporter, or a supervisor on their behalf, rates it", ErrForbidden, c.ID)
	default:
		return false, fmt.Errorf("%w: satisfaction is given by the case's reporter or a supervisor on their behalf; %s has role %s", ErrForbidden, who.Name, who.Role)
	}
	if c.State != CaseClosed {
		return false, fmt.Errorf("%w: case %d is %s: satisfaction is asked once it is closed", ErrConflict, c.ID, c.State)
	}
	return onBehalf, nil
}

// CaseRater records reporters' satisfaction.
type CaseRater interface {
	// RateCase stores a closed case's one rating and logs it as a 'rate'
	// event (SatisfactionAllowed decides who may; a second rating is
	// ErrConflict).
	RateCase(ctx context.Context, id int64, req SatisfactionRequest, who CaseActor) (Satisfaction, error)
}
