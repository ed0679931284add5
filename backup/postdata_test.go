package backup

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBuildTable(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want [2]string
	}{
		{"--\n-- Name: orders_customer; Type: INDEX; Schema: public; Owner: postgres\n--\n\nCREATE INDEX orders_customer ON public.orders USING btree (customer_id);\n", [2]string{"public", "orders"}},
		{"CREATE UNIQUE INDEX \"Odd idx\" ON app.\"Odd Name\" USING btree (\"Weird \"\"col\"\"\");\n", [2]string{"app", "Odd Name"}},
		{"CREATE INDEX events_ts_idx ON ONLY public.events USING btree (ts);\n", [2]string{"public", "events"}},
		{"ALTER TABLE ONLY public.customer\n    ADD CONSTRAINT customer_pkey PRIMARY KEY (id);\n", [2]string{"public", "customer"}},
		{"ALTER TABLE ONLY \"My \"\"S\"\"\".\"T.1\"\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n", [2]string{`My "S"`, "T.1"}},
		{"ALTER TABLE public.events\n    ADD CONSTRAINT events_check CHECK (true) NOT VALID;\n", [2]string{"public", "events"}},
		{"CREATE TRIGGER x BEFORE INSERT ON public.customer FOR EACH ROW EXECUTE FUNCTION public.touch();\n", [2]string{}},
		{"", [2]string{}},
	} {
		assert.Equal(t, tc.want, buildTable(tc.sql), tc.sql)
	}
}

func TestPostDataPlanQueuesBuildsWhenTablesAreLoaded(t *testing.T) {
	script := "SET x = 1;\n" +
		"\n--\n-- Name: a a_pkey; Type: CONSTRAINT; Schema: public; Owner: o\n--\n\nALTER TABLE ONLY public.a\n    ADD CONSTRAINT a_pkey PRIMARY KEY (id);\n" +
		"\n--\n-- Name: b_i; Type: INDEX; Schema: public; Owner: o\n--\n\nCREATE INDEX b_i ON public.b USING btree (x);\n" +
		"\n--\n-- Name: p_i; Type: INDEX; Schema: public; Owner: o\n--\n\nCREATE INDEX p_i ON ONLY public.p USING btree (x);\n" +
		"\n--\n-- Name: e_i; Type: INDEX; Schema: public; Owner: o\n--\n\nCREATE INDEX e_i ON public.e USING btree (x);\n" +
		"\n--\n-- Name: b b_a_fk; Type: FK CONSTRAINT; Schema: public; Owner: o\n--\n\nALTER TABLE ONLY public.b\n    ADD CONSTRAINT b_a_fk FOREIGN KEY (a) REFERENCES public.a(id);\n"
	m := &manifest{Tables: []tableInfo{{Schema: "public", Name: "a"}, {Schema: "public", Name: "b"}, {Schema: "public", Name: "e"}}}
	parts := []partInfo{
		{Name: "db/0001", Segments: []segment{{Table: 0}, {Table: 1}}},
		{Name: "db/0002", Segments: []segment{{Table: 0}}},
	}
	p := planPostData(script, m, parts)
	assert.Contains(t, p.seq, "FOREIGN KEY")
	assert.NotContains(t, p.seq, "PRIMARY KEY")
	assert.Len(t, p.other, 1, "the partitioned parent has no data in the point")
	queued := func() []string {
		var out []string
		for {
			select {
			case en, ok := <-p.queue:
				if !ok {
					return out
				}
				out = append(out, buildTable(en.sql)[1])
			default:
				return out
			}
		}
	}
	p.queueUnloaded()
	assert.Equal(t, []string{"e"}, queued())
	p.loaded(0)
	assert.Empty(t, queued(), "a has a second segment to load")
	p.loaded(1)
	assert.Equal(t, []string{"b"}, queued())
	p.loaded(0)
	assert.Equal(t, []string{"a"}, queued())
	p.loadsDone()
	assert.Equal(t, []string{"p"}, queued())
	_, open := <-p.queue
	assert.False(t, open)
}
