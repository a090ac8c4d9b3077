package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// objects are the decoded objects of one kustomization.
type objects struct {
	namespace       string
	configMaps      map[string]*corev1.ConfigMap
	deployments     []*appsv1.Deployment
	jobs            []*batchv1.Job
	services        []*corev1.Service
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	networkPolicies []*networkingv1.NetworkPolicy
}

// decode strictly decodes one object's JSON into the Go type of its
// apiVersion and kind: an unknown field, a wrong type or an unknown kind
// is a problem.
func decode(r *report, where string, data []byte) any {
	var head metav1.TypeMeta
	if err := json.Unmarshal(data, &head); err != nil {
		r.fail(where, "%v", err)
		return nil
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1 PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	case "networking.k8s.io/v1 NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	default:
		r.fail(where, "unexpected object %s %s", head.APIVersion, head.Kind)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		r.fail(where, "%s: %v", head.Kind, err)
		return nil
	}
	return obj
}

// checkSecretTemplates decodes the Secret templates and returns, by
// Secret name, the keys each holds.
func checkSecretTemplates(r *report, path string) map[string]map[string]bool {
	nodes, err := kio.FromBytes(readFile(path))
	if err != nil {
		r.fail(path, "%v", err)
		return nil
	}
	keys := map[string]map[string]bool{}
	for _, n := range nodes {
		data, err := n.MarshalJSON()
		if err != nil {
			r.fail(path, "%v", err)
			continue
		}
		s, ok := decode(r, path, data).(*corev1.Secret)
		if !ok {
			r.fail(path, "%s: not a Secret", n.GetName())
			continue
		}
		keys[s.Name] = map[string]bool{}
		for k, v := range s.StringData {
			keys[s.Name][k] = true
			if strings.Contains(v, "PRIVATE KEY") {
				r.fail(path, "%s: %s holds a real key; templates hold placeholders", s.Name, k)
			}
		}
	}
	// Every service's TLS and NATS Secrets have the shape of the one shown.
	for _, name := range []string{"account", "credential", "recovery", "mfa", "notification", "gateway"} {
		keys["latchkey-tls-"+name] = keys["latchkey-tls-account"]
		keys["latchkey-nats-"+name] = keys["latchkey-nats-account"]
	}
	return keys
}

// checkKustomization builds the kustomization in dir and checks it.
func checkKustomization(r *report, bins map[string]*binary, secrets map[string]map[string]bool, dir string, production bool) {
	where := filepath.Base(dir)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		r.fail(where, "kustomize build: %v", err)
		return
	}
	objs := objects{configMaps: map[string]*corev1.ConfigMap{}}
	for _, res := range m.Resources() {
		data, err := res.MarshalJSON()
		if err != nil {
			r.fail(where, "%v", err)
			continue
		}
		switch o := decode(r, where+" "+res.GetKind()+"/"+res.GetName(), data).(type) {
		case *corev1.Namespace:
			objs.namespace = o.Name
		case *corev1.ConfigMap:
			objs.configMaps[o.Name] = o
		case *appsv1.Deployment:
			objs.deployments = append(objs.deployments, o)
		case *batchv1.Job:
			objs.jobs = append(objs.jobs, o)
		case *corev1.Service:
			objs.services = append(objs.services, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			objs.hpas = append(objs.hpas, o)
		case *policyv1.PodDisruptionBudget:
			objs.pdbs = append(objs.pdbs, o)
		case *networkingv1.NetworkPolicy:
			objs.networkPolicies = append(objs.networkPolicies, o)
		}
	}
	if objs.namespace == "" {
		r.fail(where, "no Namespace")
	}
	seen := map[string]bool{}
	for _, d := range objs.deployments {
		w := where + " Deployment/" + d.Name
		checkPod(r, w, &d.Spec.Template.Spec, true)
		if d.Spec.Replicas != nil {
			r.fail(w, "sets replicas, which its HorizontalPodAutoscaler owns")
		}
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
			r.fail(w, "no topologySpreadConstraints")
		}
		if !objs.hasHPA(d.Name) {
			r.fail(w, "no HorizontalPodAutoscaler")
		}
		if !objs.hasPDB(d) {
			r.fail(w, "no PodDisruptionBudget")
		}
		if len(objs.servicesOf(d.Spec.Template.Labels)) == 0 {
			r.fail(w, "no Service selects it")
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			seen[binaryOfImage(c.Image, bins)] = true
			checkContainerEnv(r, w, c, &objs, bins, secrets, production)
			checkReach(r, w, d.Spec.Template.Labels, c, &objs, bins)
		}
	}
	for _, j := range objs.jobs {
		w := where + " Job/" + j.Name
		checkPod(r, w, &j.Spec.Template.Spec, false)
		for _, c := range j.Spec.Template.Spec.Containers {
			seen[binaryOfImage(c.Image, bins)] = true
			checkContainerEnv(r, w, c, &objs, bins, secrets, production)
			if !slices.Equal(c.Args, []string{"migrate"}) {
				r.fail(w, "args %v, want [migrate]", c.Args)
			}
		}
	}
	for name := range bins {
		if !seen[name] {
			r.fail(where, "no Deployment or Job runs %s", name)
		}
	}
	for _, s := range objs.services {
		if len(s.Spec.Selector) == 0 || objs.deploymentOf(s.Spec.Selector) == nil {
			r.fail(where+" Service/"+s.Name, "its selector %v matches no Deployment", s.Spec.Selector)
		}
		// Services that need each other are ready only once their peers
		// answer: peers dialled through DNS must see pods not ready yet.
		if s.Spec.ClusterIP == corev1.ClusterIPNone && !s.Spec.PublishNotReadyAddresses {
			r.fail(where+" Service/"+s.Name, "headless without publishNotReadyAddresses: peers that need each other would wait for each other forever at a cold start")
		}
	}
	for _, h := range objs.hpas {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || objs.deployment(h.Spec.ScaleTargetRef.Name) == nil {
			r.fail(where+" HorizontalPodAutoscaler/"+h.Name, "scales %s/%s, which is not here", h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
	}
	checkIsolation(r, where, &objs)
	r.note("%s: %d Deployments, %d Jobs, %d Services, %d HorizontalPodAutoscalers, %d PodDisruptionBudgets, %d NetworkPolicies",
		where, len(objs.deployments), len(objs.jobs), len(objs.services), len(objs.hpas), len(objs.pdbs), len(objs.networkPolicies))
}

// checkPod checks what every Latchkey pod needs: probes (Deployments),
// requests and limits, non-root, read-only root, no capabilities.
func checkPod(r *report, where string, pod *corev1.PodSpec, probes bool) {
	podNonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		r.fail(where, "mounts a service-account token it does not use")
	}
	for _, c := range pod.Containers {
		w := where + " container " + c.Name
		if probes && (c.LivenessProbe == nil || c.ReadinessProbe == nil) {
			r.fail(w, "needs a liveness and a readiness probe")
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				r.fail(w, "no %s request", res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				r.fail(w, "no %s limit", res)
			}
		}
		sc := c.SecurityContext
		switch {
		case sc == nil:
			r.fail(w, "no securityContext")
		default:
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				r.fail(w, "root filesystem not read-only")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				r.fail(w, "allows privilege escalation")
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				r.fail(w, "does not drop ALL capabilities")
			}
			if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
				r.fail(w, "may run as root")
			}
		}
	}
}

// containerEnv is the environment a container starts with: its env, the
// ConfigMaps and the Secrets (from their templates) of its envFrom.
func containerEnv(r *report, where string, c corev1.Container, objs *objects, secrets map[string]map[string]bool) (map[string]string, []string) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm := objs.configMaps[from.ConfigMapRef.Name]
			if cm == nil {
				r.fail(where, "envFrom ConfigMap %s, which is not here", from.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				env[k] = v
			}
		case from.SecretRef != nil:
			keys, ok := secrets[from.SecretRef.Name]
			if !ok {
				r.fail(where, "envFrom Secret %s, which secrets.example.yaml does not describe", from.SecretRef.Name)
			}
			for k := range keys {
				env[k] = "(secret)"
			}
		}
	}
	var own []string
	for _, e := range c.Env {
		own = append(own, e.Name)
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			if !secrets[e.ValueFrom.SecretKeyRef.Name][e.ValueFrom.SecretKeyRef.Key] {
				r.fail(where, "%s from Secret %s key %s, which secrets.example.yaml does not describe", e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			env[e.Name] = "(secret)"
		default:
			env[e.Name] = e.Value
		}
	}
	return env, own
}

func checkContainerEnv(r *report, where string, c corev1.Container, objs *objects, bins map[string]*binary, secrets map[string]map[string]bool, production bool) {
	b := bins[binaryOfImage(c.Image, bins)]
	if b == nil {
		r.fail(where, "image %s is no Latchkey binary", c.Image)
		return
	}
	env, own := containerEnv(r, where, c, objs, secrets)
	checkEnv(r, where, b, env, own, bins, production)
	if production && (b.usesNATS || b.name == "gatewayd") && env["LATCHKEY_NATS_NKEY_FILE"] == "" {
		r.fail(where, "LATCHKEY_NATS_NKEY_FILE is not set: in production every NATS client authenticates with its own nkey")
	}
	// Files it is pointed at are on a mounted volume.
	for name, v := range env {
		if strings.HasSuffix(name, "_FILE") && strings.HasPrefix(v, "/") && !mountedAt(c, v) {
			r.fail(where, "%s=%s is on no mounted volume", name, v)
		}
	}
	// Listen ports are container ports.
	for name, v := range env {
		if strings.HasSuffix(name, "_GRPC_ADDR") || name == "LATCHKEY_HTTP_ADDR" {
			if !b.reads[name] {
				continue
			}
			for _, hp := range addressHosts(v) {
				if port, _ := strconv.Atoi(hp[1]); !hasContainerPort(c, int32(port)) {
					r.fail(where, "%s listens on %s, which is no container port", name, v)
				}
			}
		}
	}
}

func mountedAt(c corev1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return true
		}
	}
	return false
}

func hasContainerPort(c corev1.Container, port int32) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}

// checkReach checks every peer address the container's binary requires:
// it names a Service of this kustomization and one of its ports, a
// Deployment serves that Service, and the NetworkPolicies let this pod
// reach that one on that port.
func checkReach(r *report, where string, from map[string]string, c corev1.Container, objs *objects, bins map[string]*binary) {
	b := bins[binaryOfImage(c.Image, bins)]
	if b == nil {
		return
	}
	env, _ := containerEnv(&report{}, where, c, objs, nil)
	for _, name := range b.requires {
		if !isPeerSetting(name) || env[name] == "" {
			continue // an unset one is reported by checkEnv
		}
		for _, hp := range addressHosts(env[name]) {
			svcName := strings.Split(hp[0], ".")[0]
			svc := objs.service(svcName)
			if svc == nil {
				r.fail(where, "%s=%s: no Service %s", name, env[name], svcName)
				continue
			}
			port, _ := strconv.Atoi(hp[1])
			target := objs.deploymentOf(svc.Spec.Selector)
			targetPort := objs.targetPort(svc, target, int32(port))
			if targetPort == 0 {
				r.fail(where, "%s=%s: Service %s has no port %s served by a container", name, env[name], svcName, hp[1])
				continue
			}
			to := target.Spec.Template.Labels
			if !objs.egressAllowed(from, to, targetPort) {
				r.fail(where, "%s=%s: the NetworkPolicies let it send nothing to %s port %d", name, env[name], target.Name, targetPort)
			}
			if !objs.ingressAllowed(from, to, targetPort) {
				r.fail(where, "%s=%s: the NetworkPolicies keep it out of %s port %d", name, env[name], target.Name, targetPort)
			}
		}
	}
}

// checkIsolation checks the NetworkPolicies' outline: a default deny, only
// the gateway open to outside, DNS for everyone.
func checkIsolation(r *report, where string, objs *objects) {
	denied := false
	for _, p := range objs.networkPolicies {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) &&
			len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 {
			denied = true
		}
	}
	if !denied {
		r.fail(where, "no default-deny NetworkPolicy (all pods, Ingress and Egress, no rule)")
	}
	for _, d := range objs.deployments {
		pod := d.Spec.Template.Labels
		open := false
		for _, p := range objs.policiesFor(pod) {
			for _, in := range p.Spec.Ingress {
				open = open || len(in.From) == 0
			}
		}
		if open != (d.Name == "gateway") {
			r.fail(where+" Deployment/"+d.Name, "reachable from outside the namespace: %v (only the gateway should be)", open)
		}
		if !objs.egressAllowed(pod, nil, 53) {
			r.fail(where+" Deployment/"+d.Name, "cannot reach DNS")
		}
	}
}

func (o *objects) deployment(name string) *appsv1.Deployment {
	for _, d := range o.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func (o *objects) deploymentOf(selector map[string]string) *appsv1.Deployment {
	for _, d := range o.deployments {
		if len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			return d
		}
	}
	return nil
}

func (o *objects) service(name string) *corev1.Service {
	for _, s := range o.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (o *objects) servicesOf(pod map[string]string) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range o.services {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod)) {
			out = append(out, s)
		}
	}
	return out
}

// targetPort is the container port behind the Service's port.
func (o *objects) targetPort(s *corev1.Service, d *appsv1.Deployment, port int32) int32 {
	if d == nil {
		return 0
	}
	for _, p := range s.Spec.Ports {
		if p.Port != port {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				if (p.TargetPort.StrVal != "" && cp.Name == p.TargetPort.StrVal) || (p.TargetPort.StrVal == "" && cp.ContainerPort == p.TargetPort.IntVal) {
					return cp.ContainerPort
				}
			}
		}
	}
	return 0
}

func (o *objects) hasHPA(name string) bool {
	for _, h := range o.hpas {
		if h.Spec.ScaleTargetRef.Name == name && h.Spec.MinReplicas != nil && *h.Spec.MinReplicas >= 2 {
			return true
		}
	}
	return false
}

func (o *objects) hasPDB(d *appsv1.Deployment) bool {
	for _, p := range o.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			return true
		}
	}
	return false
}

func (o *objects) policiesFor(pod map[string]string) []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for _, p := range o.networkPolicies {
		if matches(&p.Spec.PodSelector, pod) {
			out = append(out, p)
		}
	}
	return out
}

// egressAllowed: may a pod labelled from open a connection to port of a
// pod of this namespace labelled to (to nil: anywhere, e.g. DNS)?
func (o *objects) egressAllowed(from, to map[string]string, port int32) bool {
	return o.allowed(networkingv1.PolicyTypeEgress, from, to, port)
}

// ingressAllowed: may a pod labelled to take a connection on port from a
// pod of this namespace labelled from?
func (o *objects) ingressAllowed(from, to map[string]string, port int32) bool {
	return o.allowed(networkingv1.PolicyTypeIngress, to, from, port)
}

// allowed applies the NetworkPolicies of direction typ that select the
// pod labelled subject to a connection with peer on port: a pod no such
// policy selects is not isolated in that direction.
func (o *objects) allowed(typ networkingv1.PolicyType, subject, peer map[string]string, port int32) bool {
	isolated := false
	for _, p := range o.policiesFor(subject) {
		if !slices.Contains(p.Spec.PolicyTypes, typ) {
			continue
		}
		isolated = true
		for _, rule := range rules(p, typ) {
			if portAllowed(rule.ports, port) && o.peerAllowed(rule.peers, peer) {
				return true
			}
		}
	}
	return !isolated
}

type rule struct {
	ports []networkingv1.NetworkPolicyPort
	peers []networkingv1.NetworkPolicyPeer
}

// rules are p's rules of direction typ, in one shape.
func rules(p *networkingv1.NetworkPolicy, typ networkingv1.PolicyType) []rule {
	var out []rule
	if typ == networkingv1.PolicyTypeEgress {
		for _, r := range p.Spec.Egress {
			out = append(out, rule{r.Ports, r.To})
		}
		return out
	}
	for _, r := range p.Spec.Ingress {
		out = append(out, rule{r.Ports, r.From})
	}
	return out
}

func portAllowed(ports []networkingv1.NetworkPolicyPort, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil || p.Port.IntVal == port {
			return true
		}
	}
	return false
}

// peerAllowed: do peers admit a pod of this namespace labelled pod (nil:
// a destination outside the namespace, which only a rule without peers or
// with a namespace selector or address block admits)?
func (o *objects) peerAllowed(peers []networkingv1.NetworkPolicyPeer, pod map[string]string) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if pod == nil {
			if p.NamespaceSelector != nil || p.IPBlock != nil {
				return true
			}
			continue
		}
		if p.IPBlock != nil {
			continue
		}
		ns := map[string]string{"kubernetes.io/metadata.name": o.namespace}
		if p.NamespaceSelector != nil && !matches(p.NamespaceSelector, ns) {
			continue
		}
		if p.PodSelector == nil || matches(p.PodSelector, pod) {
			return true
		}
	}
	return false
}

func matches(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		panic(fmt.Sprintf("label selector %v: %v", sel, err))
	}
	return s.Matches(labels.Set(set))
}
