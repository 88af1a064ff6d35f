"""A loopback Kubernetes API server and "kubelet" for testing code that uses the official client."""
