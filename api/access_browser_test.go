package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gridd/api"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// With private reads the editor page loads, says that a token is needed,
// and shows the community once a viewer's token is entered.
func TestEditPageWithPrivateReads(t *testing.T) {
	st := postgis.NewStore(pgtest.New(t))
	seedEditable(t, st.Pool())
	ts := httptest.NewServer(api.New(api.Config{Divisions: st, Editor: st, Tokens: st, PrivateReads: true}).Handler())
	defer ts.Close()
	tok, err := st.CreateToken(context.Background(), "browser-bob", grids.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	bctx := newBrowser(t, 1200, 800).ctx
	var msg string
	err = chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/edit?community=110101001007"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#msg").className === "err"`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	if err != nil {
		t.Fatalf("browser: open the editor without a token: %v", err)
	}
	msg, _ = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#msg")))
	if !strings.Contains(msg, "needs an API token") {
		t.Errorf("page message without a token: %q, want it to ask for a token", msg)
	}
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#token"), tok),
		chromedp.Click(chromedp.CSS("#load")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("path.grid").length === 6`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	if err != nil {
		msg, _ = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#msg")))
		t.Fatalf("browser: load with a viewer token: %v (message on the page: %q)", err, msg)
	}
}
