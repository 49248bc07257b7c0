// k8scheck: checks a gomapwatch DaemonSet manifest offline, with no cluster.
// The YAML is decoded as the API server's strict field validation does: a
// field that apps/v1 does not have, or one spelled with other capitals
// (hostPid), or given twice, is an error. Then what gomapwatch needs to run
// on a node: hostPID, its capabilities, a target (-b or -p) and --otlp.
//
// Usage: k8scheck FILE
// Prints one line, "k8scheck: FILE: OK: ..." on stdout or the first error
// on stderr, and exits 0 or 1 (2 for bad usage).
package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The capabilities gomapwatch needs: examples/deploy/gomapwatch-daemonset.yaml
// says why each.
var wantCaps = []corev1.Capability{"SYS_ADMIN", "BPF", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE"}

// decode: YAML to JSON (duplicate keys are an error), then JSON to the API
// type, case-sensitively, every field known
func decode(data []byte) (*appsv1.DaemonSet, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var ds appsv1.DaemonSet
	strict, err := json.UnmarshalStrict(j, &ds, json.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, errors.Join(strict...)
	}
	return &ds, nil
}

// container: the one named gomapwatch, else the only one
func container(spec *corev1.PodSpec) (*corev1.Container, error) {
	for i := range spec.Containers {
		if spec.Containers[i].Name == "gomapwatch" {
			return &spec.Containers[i], nil
		}
	}
	if len(spec.Containers) == 1 {
		return &spec.Containers[0], nil
	}
	return nil, fmt.Errorf("no container named gomapwatch among %d", len(spec.Containers))
}

// hasFlag: ARGS has FLAG as an argument of its own or as FLAG=VALUE
func hasFlag(args []string, flag string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == flag || strings.HasPrefix(a, flag+"=")
	})
}

func checkContainer(c *corev1.Container) error {
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		return fmt.Errorf("container %s: no securityContext.capabilities", c.Name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		return fmt.Errorf("container %s: privileged; it needs only its capabilities", c.Name)
	}
	for _, want := range wantCaps {
		if !slices.Contains(sc.Capabilities.Add, want) {
			return fmt.Errorf("container %s: capability %s not added", c.Name, want)
		}
	}
	// the arguments as gomapwatch gets them: command and args together
	args := append(slices.Clone(c.Command), c.Args...)
	if !hasFlag(args, "-b") && !hasFlag(args, "-p") {
		return fmt.Errorf("container %s: no target: neither -b nor -p in %q", c.Name, args)
	}
	if !hasFlag(args, "--otlp") {
		return fmt.Errorf("container %s: no --otlp in %q", c.Name, args)
	}
	return nil
}

func check(ds *appsv1.DaemonSet) error {
	if ds.APIVersion != "apps/v1" || ds.Kind != "DaemonSet" {
		return fmt.Errorf("apiVersion %q kind %q, want apps/v1 DaemonSet", ds.APIVersion, ds.Kind)
	}
	// the API server refuses a selector that misses the pods' labels
	if ds.Spec.Selector == nil {
		return errors.New("spec.selector: missing")
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return fmt.Errorf("spec.selector: %w", err)
	}
	if !sel.Matches(labels.Set(ds.Spec.Template.Labels)) {
		return errors.New("spec.selector does not match spec.template.metadata.labels")
	}
	spec := &ds.Spec.Template.Spec
	if !spec.HostPID {
		return errors.New("spec.template.spec.hostPID: not true; gomapwatch must see the node's processes")
	}
	c, err := container(spec)
	if err != nil {
		return err
	}
	return checkContainer(c)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: k8scheck FILE")
		os.Exit(2)
	}
	file := os.Args[1]
	data, err := os.ReadFile(file)
	if err == nil {
		var ds *appsv1.DaemonSet
		if ds, err = decode(data); err == nil {
			if err = check(ds); err == nil {
				fmt.Printf("k8scheck: %s: OK: DaemonSet %s\n", file, ds.Name)
				return
			}
		}
	}
	// one line, whatever the error
	fmt.Fprintf(os.Stderr, "k8scheck: %s: %s\n", file, strings.ReplaceAll(err.Error(), "\n", "; "))
	os.Exit(1)
}
