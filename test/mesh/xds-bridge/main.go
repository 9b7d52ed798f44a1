// serin-xds-bridge: many simulated Istio sidecars in one process.
//
// Each node added on stdin opens its own delta-xDS (ADS) stream to istiod, built on Istio's own client
// (istio.io/istio/pkg/adsc, the delta client: connection, node metadata, wildcard CDS/LDS, ACK/NACK and
// typed handlers), and follows the EDS/RDS resources the clusters and listeners name, as Envoy does
// (see watchedStream for why the bridge, not pkg/adsc, keeps those subscriptions). Every added, changed or removed resource is written to stdout as one JSON line in
// Envoy's config-dump form (protojson, proto field names, Any as "@type").
//
// stdin (JSON lines):
//
//	{"op":"add","id":"n1","ip":"10.255.0.7","podName":"webapp-sim-1","namespace":"ns","labels":{"app":"webapp"},
//	 "workload":"webapp","serviceAccount":"default"}
//	{"op":"remove","id":"n1"}
//
// stdout (JSON lines):
//
//	{"id":"n1","type":"listener"|"route"|"cluster"|"endpoint","name":"...","resource":{...}}
//	{"id":"n1","type":"...","name":"...","deleted":true}
//	{"id":"n1","synced":true}      after the first complete set (CDS+LDS and every EDS/RDS they name)
//	{"id":"n1","error":"..."}      a stream failed; the node reconnects by itself with backoff
//
// Logs go to stderr. The node presents itself as a current sidecar of the pinned Istio version; its IP is
// not a real pod's, so istiod takes its labels from the node metadata (SetWorkloadLabels' fallback).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"istio.io/istio/pkg/adsc"
	// Registers every Envoy extension type istiod may put in an Any (filters, faults, transports...),
	// so that typed_config/typed_per_filter_config marshal to readable JSON.
	_ "istio.io/istio/pkg/config/xds"
	"istio.io/istio/pkg/log"
)

// istioVersion is set at build time (-X main.istioVersion=...) from the pinned module's VERSION file.
var istioVersion = "1.31-dev"

const (
	typeCluster  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeListener = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeRoute    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	typeEndpoint = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
)

var shortType = map[string]string{
	typeCluster:  "cluster",
	typeListener: "listener",
	typeRoute:    "route",
	typeEndpoint: "endpoint",
}

// ---------------------------------------------------------------------------------------------------
// output

type outLine struct {
	ID       string          `json:"id"`
	Type     string          `json:"type,omitempty"`
	Name     string          `json:"name,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Deleted  bool            `json:"deleted,omitempty"`
	Synced   bool            `json:"synced,omitempty"`
	Error    string          `json:"error,omitempty"`
}

var (
	outMu sync.Mutex
	out   = bufio.NewWriterSize(os.Stdout, 1<<20)
)

func emit(l outLine) {
	b, err := json.Marshal(l)
	if err != nil {
		logf("marshal output: %v", err)
		return
	}
	outMu.Lock()
	defer outMu.Unlock()
	_, _ = out.Write(b)
	_ = out.WriteByte('\n')
	_ = out.Flush()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().UTC().Format("15:04:05.000")+" serin-xds-bridge: "+format+"\n", args...)
}

var marshal = protojson.MarshalOptions{UseProtoNames: true}

func toJSON(m proto.Message) (json.RawMessage, error) {
	b, err := marshal.Marshal(m)
	if err != nil {
		return nil, err
	}
	// protojson randomly inserts whitespace; compact output is stable within the process and one line.
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ---------------------------------------------------------------------------------------------------
// nodes

type addMsg struct {
	Op             string            `json:"op"`
	ID             string            `json:"id"`
	IP             string            `json:"ip"`
	PodName        string            `json:"podName"`
	Namespace      string            `json:"namespace"`
	Labels         map[string]string `json:"labels"`
	Workload       string            `json:"workload"`
	ServiceAccount string            `json:"serviceAccount"`
}

type rkey struct{ typ, name string }

type node struct {
	spec   addMsg
	xds    string
	cancel context.CancelFunc

	mu            sync.Mutex
	removed       bool
	state         map[rkey]json.RawMessage // what has been written to stdout, by resource
	clusterEDS    map[string]string        // cluster -> the EDS resource it needs ("" for none)
	listenerRoute map[string][]string      // listener -> the RDS resources it needs
	synced        bool                     // the first complete set has been reported
	gen           *generation              // the current stream
}

// generation is one stream's view: what it has delivered so far, to know when it is complete and which
// resources a reconnect no longer has.
type generation struct {
	got     map[rkey]bool
	gotType map[string]bool
	// nonce -> type URL of the responses received; unacked holds those not yet acknowledged.
	nonceType map[string]string
	unacked   map[string]bool
	complete  bool
}

func newGeneration() *generation {
	return &generation{
		got:       map[rkey]bool{},
		gotType:   map[string]bool{},
		nonceType: map[string]string{},
		unacked:   map[string]bool{},
	}
}

func edsName(c *cluster.Cluster) string {
	if c.GetType() != cluster.Cluster_EDS {
		return ""
	}
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.GetName()
}

func rdsNames(l *listener.Listener) []string {
	var names []string
	chains := append([]*listener.FilterChain{}, l.GetFilterChains()...)
	if l.GetDefaultFilterChain() != nil {
		chains = append(chains, l.GetDefaultFilterChain())
	}
	for _, fc := range chains {
		for _, f := range fc.GetFilters() {
			tc := f.GetTypedConfig()
			if tc == nil || tc.GetTypeUrl() != "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager" {
				continue
			}
			h := &hcm.HttpConnectionManager{}
			if err := tc.UnmarshalTo(h); err != nil {
				continue
			}
			if n := h.GetRds().GetRouteConfigName(); n != "" {
				names = append(names, n)
			}
		}
	}
	return names
}

// put records a resource received on generation g and writes it out if it changed. Caller holds n.mu.
func (n *node) put(g *generation, typ, name string, m proto.Message) {
	if n.removed || g != n.gen {
		return
	}
	if typ == "endpoint" || typ == "route" {
		// A response racing an unsubscribe can still carry a resource nothing needs any more.
		eds, rds := n.wanted()
		if (typ == "endpoint" && !eds[name]) || (typ == "route" && !rds[name]) {
			return
		}
	}
	k := rkey{typ, name}
	g.got[k] = true
	b, err := toJSON(m)
	if err != nil {
		logf("%s: marshal %s %s: %v", n.spec.ID, typ, name, err)
		return
	}
	if old, ok := n.state[k]; ok && bytes.Equal(old, b) {
		return
	}
	n.state[k] = b
	emit(outLine{ID: n.spec.ID, Type: typ, Name: name, Resource: b})
}

// drop forgets a resource and writes the deletion out. Caller holds n.mu.
func (n *node) drop(typ, name string) {
	k := rkey{typ, name}
	switch typ {
	case "cluster":
		delete(n.clusterEDS, name)
	case "listener":
		delete(n.listenerRoute, name)
	}
	if _, ok := n.state[k]; !ok {
		return
	}
	delete(n.state, k)
	if !n.removed {
		emit(outLine{ID: n.spec.ID, Type: typ, Name: name, Deleted: true})
	}
}

// gc drops endpoints and routes no cluster or listener names any more (istiod does not send removals for
// resources the client unsubscribes from). Caller holds n.mu.
func (n *node) gc() {
	eds, rds := n.wanted()
	for k := range n.state {
		if (k.typ == "endpoint" && !eds[k.name]) || (k.typ == "route" && !rds[k.name]) {
			n.drop(k.typ, k.name)
		}
	}
}

func (n *node) wanted() (eds, rds map[string]bool) {
	eds, rds = map[string]bool{}, map[string]bool{}
	for _, e := range n.clusterEDS {
		if e != "" {
			eds[e] = true
		}
	}
	for _, names := range n.listenerRoute {
		for _, r := range names {
			rds[r] = true
		}
	}
	return eds, rds
}

// checkComplete runs after a response has been fully handled (its ACK is being sent). Caller holds n.mu.
func (n *node) checkComplete(g *generation) {
	if n.removed || g != n.gen || g.complete {
		return
	}
	if !g.gotType[typeCluster] || !g.gotType[typeListener] {
		return
	}
	// Complete when every EDS/RDS resource named by this stream's clusters and listeners has arrived on
	// it (resources left from an earlier stream do not count: they may be gone).
	for name, e := range n.clusterEDS {
		if e != "" && g.got[rkey{"cluster", name}] && !g.got[rkey{"endpoint", e}] {
			return
		}
	}
	for name, routes := range n.listenerRoute {
		if !g.got[rkey{"listener", name}] {
			continue
		}
		for _, r := range routes {
			if !g.got[rkey{"route", r}] {
				return
			}
		}
	}
	g.complete = true
	// After a reconnect: whatever the new stream did not deliver is gone.
	for k := range n.state {
		if !g.got[k] {
			n.drop(k.typ, k.name)
		}
	}
	if !n.synced {
		n.synced = true
		emit(outLine{ID: n.spec.ID, Synced: true})
	}
}

// nodeID is the ID pkg/adsc gives the node: sidecar~IP~POD.NS~NS.svc.cluster.local.
func (n *node) nodeID() string {
	return fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", n.spec.IP, n.spec.PodName, n.spec.Namespace, n.spec.Namespace)
}

func (n *node) metadata() *structpb.Struct {
	labels := map[string]any{}
	for k, v := range n.spec.Labels {
		labels[k] = v
	}
	owner := fmt.Sprintf("kubernetes://apis/apps/v1/namespaces/%s/deployments/%s", n.spec.Namespace, n.spec.Workload)
	meta := map[string]any{
		"NAMESPACE":         n.spec.Namespace,
		"LABELS":            labels,
		"WORKLOAD_NAME":     n.spec.Workload,
		"OWNER":             owner,
		"SERVICE_ACCOUNT":   n.spec.ServiceAccount,
		"ISTIO_VERSION":     istioVersion,
		"CLUSTER_ID":        "Kubernetes",
		"MESH_ID":           "cluster.local",
		"NAME":              n.spec.PodName,
		"INSTANCE_IPS":      n.spec.IP,
		"INTERCEPTION_MODE": "REDIRECT",
		"NODE_NAME":         "kwok-node",
		"PILOT_SAN":         []any{"istiod.istio-system.svc"},
		"PROXY_CONFIG": map[string]any{
			"discoveryAddress":  "istiod.istio-system.svc:15012",
			"proxyStatsMatcher": map[string]any{},
		},
		"ENVOY_STATUS_PORT":     15021,
		"ENVOY_PROMETHEUS_PORT": 15090,
		"APP_CONTAINERS":        n.spec.Workload,
	}
	s, err := structpb.NewStruct(meta)
	if err != nil {
		logf("%s: metadata: %v", n.spec.ID, err)
		return &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	return s
}

// run keeps one stream per attempt to istiod, each with a fresh adsc client and fresh subscriptions (the
// library's own reconnect would keep its state from the old stream), and reports each failure on stdout.
// After a reconnect, what the new stream's complete set lacks is reported deleted (checkComplete).
func (n *node) run(ctx context.Context) {
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := n.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		n.mu.Lock()
		complete := n.gen != nil && n.gen.complete
		n.mu.Unlock()
		if complete {
			delay = 100 * time.Millisecond
		}
		msg := "stream ended"
		if err != nil {
			msg = err.Error()
		}
		emit(outLine{ID: n.spec.ID, Error: msg})
		logf("%s: %s; reconnecting in %v", n.spec.ID, msg, delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// stream runs one xDS stream until it fails (or ctx ends) and returns the failure.
func (n *node) stream(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	g := newGeneration()
	n.mu.Lock()
	n.gen = g
	n.mu.Unlock()

	var failOnce sync.Once
	var failErr error
	fail := func(err error) {
		failOnce.Do(func() {
			failErr = err
			cancel()
		})
	}
	streams := 0
	interceptor := func(sctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption,
	) (grpc.ClientStream, error) {
		streams++
		if streams > 1 {
			// The library reconnects by itself after a failure it handled internally: end this attempt.
			fail(errors.New("stream restarted"))
			return nil, errors.New("stream restarted")
		}
		s, err := streamer(sctx, desc, cc, method, opts...)
		if err != nil {
			fail(err)
			return nil, err
		}
		return &watchedStream{
			ClientStream: s, n: n, g: g, fail: fail,
			told: map[string]map[string]bool{typeEndpoint: {}, typeRoute: {}},
		}, nil
	}

	cfg := &adsc.DeltaADSConfig{Config: adsc.Config{
		ClientName: n.spec.ID,
		Namespace:  n.spec.Namespace,
		Workload:   n.spec.PodName,
		IP:         n.spec.IP,
		Meta:       n.metadata(),
		GrpcOpts: []grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithStreamInterceptor(interceptor),
		},
	}}
	client := adsc.NewDelta(n.xds, cfg,
		adsc.Register(func(_ adsc.HandlerContext, name, _ string, c *cluster.Cluster, ev adsc.Event) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if g != n.gen {
				return
			}
			if ev == adsc.EventDelete {
				n.drop("cluster", name)
				n.gc()
				return
			}
			e := edsName(c)
			n.clusterEDS[name] = e
			n.put(g, "cluster", name, c)
			n.gc()
		}),
		adsc.Watch[*cluster.Cluster]("*"),
		adsc.Register(func(_ adsc.HandlerContext, name, _ string, l *listener.Listener, ev adsc.Event) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if g != n.gen {
				return
			}
			if ev == adsc.EventDelete {
				n.drop("listener", name)
				n.gc()
				return
			}
			names := rdsNames(l)
			n.listenerRoute[name] = names
			n.put(g, "listener", name, l)
			n.gc()
		}),
		adsc.Watch[*listener.Listener]("*"),
		adsc.Register(func(_ adsc.HandlerContext, name, _ string, r *route.RouteConfiguration, ev adsc.Event) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if g != n.gen {
				return
			}
			if ev == adsc.EventDelete {
				n.drop("route", name)
				return
			}
			n.put(g, "route", name, r)
		}),
		adsc.Register(func(_ adsc.HandlerContext, name, _ string, e *endpoint.ClusterLoadAssignment, ev adsc.Event) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if g != n.gen {
				return
			}
			if ev == adsc.EventDelete {
				n.drop("endpoint", name)
				return
			}
			n.put(g, "endpoint", name, e)
		}),
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.Run(ctx)
	}()
	<-ctx.Done()
	<-done
	if failErr == nil {
		return parent.Err()
	}
	return failErr
}

// watchedStream sits between pkg/adsc's delta client and the gRPC stream. It sees every response before
// the client handles it and every request the client sends (a request carrying a response's nonce is its
// ACK/NACK, sent after all the response's resources were handled), and it keeps the EDS and RDS
// subscriptions itself, as Envoy does: after the ACK of each CDS (LDS) response it (un)subscribes the
// ClusterLoadAssignments (RouteConfigurations) the current clusters (listeners) name.
//
// pkg/adsc's own dependency tracking (HandlerContext.RegisterDependency) is not used: at this version it
// sends the changes with the parent response's nonce, which istiod ignores as stale once it has sent
// that type before (new subsets or routes never arrive after the first sync), and it accumulates
// dependencies across the resources of one response, so a listener without routes unsubscribes the
// routes of the listeners handled before it.
type watchedStream struct {
	grpc.ClientStream
	n    *node
	g    *generation
	fail func(error)
	// type URL -> resource names subscribed on this stream
	told map[string]map[string]bool
}

func (w *watchedStream) RecvMsg(m any) error {
	err := w.ClientStream.RecvMsg(m)
	if err != nil {
		w.fail(err)
		return err
	}
	resp, ok := m.(*discovery.DeltaDiscoveryResponse)
	if !ok {
		return nil
	}
	w.n.mu.Lock()
	defer w.n.mu.Unlock()
	typ := resp.GetTypeUrl()
	if len(w.g.nonceType) > 10000 {
		clear(w.g.nonceType)
	}
	w.g.nonceType[resp.GetNonce()] = typ
	w.g.unacked[resp.GetNonce()] = true
	w.g.gotType[typ] = true
	if typ == typeEndpoint || typ == typeRoute {
		// Removals of resources we subscribed are ours to handle: the client would drop them from a tree it
		// never related them in (and exit on the inconsistency).
		for _, name := range resp.GetRemovedResources() {
			if w.g == w.n.gen && !w.n.removed {
				w.n.drop(shortType[typ], name)
			}
		}
		resp.RemovedResources = nil
	}
	return nil
}

func (w *watchedStream) SendMsg(m any) error {
	req, ok := m.(*discovery.DeltaDiscoveryRequest)
	if !ok || req.GetResponseNonce() == "" {
		return w.ClientStream.SendMsg(m)
	}
	nonce := req.GetResponseNonce()
	w.n.mu.Lock()
	typ := w.g.nonceType[nonce]
	acked := w.g.unacked[nonce]
	delete(w.g.unacked, nonce)
	var follow *discovery.DeltaDiscoveryRequest
	if acked {
		// Every resource of that response has been handled.
		w.n.checkComplete(w.g)
		switch typ {
		case typeCluster:
			follow = w.subscriptions(typeEndpoint)
		case typeListener:
			follow = w.subscriptions(typeRoute)
		}
	}
	w.n.mu.Unlock()
	if err := w.ClientStream.SendMsg(m); err != nil {
		return err
	}
	if follow != nil {
		// Same goroutine as the client's own sends: the stream is never written concurrently.
		return w.ClientStream.SendMsg(follow)
	}
	return nil
}

// subscriptions returns the request that brings istiod's EDS or RDS subscription in line with what the
// clusters or listeners received on this stream name, or nil. Caller holds n.mu.
func (w *watchedStream) subscriptions(typ string) *discovery.DeltaDiscoveryRequest {
	want := map[string]bool{}
	if typ == typeEndpoint {
		for name, e := range w.n.clusterEDS {
			if e != "" && w.g.got[rkey{"cluster", name}] {
				want[e] = true
			}
		}
	} else {
		for name, routes := range w.n.listenerRoute {
			if w.g.got[rkey{"listener", name}] {
				for _, r := range routes {
					want[r] = true
				}
			}
		}
	}
	told := w.told[typ]
	req := &discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: w.n.nodeID()}, TypeUrl: typ}
	for name := range want {
		if !told[name] {
			req.ResourceNamesSubscribe = append(req.ResourceNamesSubscribe, name)
			told[name] = true
		}
	}
	for name := range told {
		if !want[name] {
			req.ResourceNamesUnsubscribe = append(req.ResourceNamesUnsubscribe, name)
			delete(told, name)
		}
	}
	if len(req.ResourceNamesSubscribe) == 0 && len(req.ResourceNamesUnsubscribe) == 0 {
		return nil
	}
	return req
}

func (w *watchedStream) CloseSend() error {
	// The client closes its side only when it gives up on a response it could not handle.
	w.fail(errors.New("client closed the stream after a bad response"))
	return w.ClientStream.CloseSend()
}

// ---------------------------------------------------------------------------------------------------

func main() {
	xdsAddr := flag.String("xds", "127.0.0.1:15010", "istiod's plaintext xDS address")
	verbose := flag.Bool("v", false, "log Istio's adsc client at info level")
	flag.Parse()

	opts := log.DefaultOptions()
	opts.OutputPaths = []string{"stderr"}
	opts.ErrorOutputPaths = []string{"stderr"}
	level := log.WarnLevel
	if *verbose {
		level = log.InfoLevel
	}
	opts.SetDefaultOutputLevel(log.DefaultScopeName, level)
	opts.SetDefaultOutputLevel("adsc", level)
	opts.SetDefaultOutputLevel("deltaadsc", level)
	if err := log.Configure(opts); err != nil {
		logf("configure logging: %v", err)
	}

	nodes := map[string]*node{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		line := bytes.TrimSpace(in.Bytes())
		if len(line) == 0 {
			continue
		}
		var msg addMsg
		if err := json.Unmarshal(line, &msg); err != nil {
			logf("bad input line %q: %v", line, err)
			continue
		}
		if old := nodes[msg.ID]; old != nil {
			old.stop()
			delete(nodes, msg.ID)
		}
		switch msg.Op {
		case "add":
			if msg.ID == "" || msg.IP == "" || msg.Namespace == "" {
				emit(outLine{ID: msg.ID, Error: "add needs id, ip and namespace"})
				continue
			}
			if msg.PodName == "" {
				msg.PodName = msg.ID
			}
			if msg.ServiceAccount == "" {
				msg.ServiceAccount = "default"
			}
			ctx, cancel := context.WithCancel(context.Background())
			n := &node{
				spec:          msg,
				xds:           *xdsAddr,
				cancel:        cancel,
				state:         map[rkey]json.RawMessage{},
				clusterEDS:    map[string]string{},
				listenerRoute: map[string][]string{},
			}
			nodes[msg.ID] = n
			go n.run(ctx)
		case "remove":
			// already stopped above
		default:
			logf("unknown op %q", msg.Op)
		}
	}
	// stdin closed: the parent is gone or done with us.
	for _, n := range nodes {
		n.stop()
	}
}

func (n *node) stop() {
	n.mu.Lock()
	n.removed = true
	n.mu.Unlock()
	n.cancel()
}
