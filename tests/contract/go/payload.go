// Package contract is a client that behaves like the k8s-vectordb-sync
// controller (its RESTClient and its DebounceBuffer), and the harness that
// runs it against the real cluster-whisperer binary on a real Chroma.
// Standard library only: it is built offline from Debian's golang-go.
package contract

import "encoding/json"

// ResourceInstance is the controller's payload record, with its JSON tags.
// Nil maps are marshalled as null, as encoding/json does for the
// controller.
type ResourceInstance struct {
	ID          string            `json:"id"`
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	APIVersion  string            `json:"apiVersion"`
	APIGroup    string            `json:"apiGroup"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	CreatedAt   string            `json:"createdAt"`
}

// SyncPayload is one request body. The controller leaves the slice it does
// not use nil, so upsert batches carry "deletes":null and delete requests
// "upserts":null.
type SyncPayload struct {
	Upserts []ResourceInstance `json:"upserts"`
	Deletes []string           `json:"deletes"`
}

// IsEmpty is the controller's skip rule: nothing to upsert and nothing to
// delete means no request at all.
func (p *SyncPayload) IsEmpty() bool {
	return p == nil || (len(p.Upserts) == 0 && len(p.Deletes) == 0)
}

// Deployment makes a controller-shaped Deployment instance: id
// "<ns>/apps/v1/Deployment/<name>", apiGroup "apps", the given labels.
func Deployment(ns, name string, labels map[string]string) ResourceInstance {
	return ResourceInstance{
		ID:         ns + "/apps/v1/Deployment/" + name,
		Namespace:  ns,
		Name:       name,
		Kind:       "Deployment",
		APIVersion: "apps/v1",
		APIGroup:   "apps",
		Labels:     labels,
		CreatedAt:  "2026-02-20T10:00:00Z",
	}
}

func jsonMarshal(p *SyncPayload) ([]byte, error) { return json.Marshal(p) }
