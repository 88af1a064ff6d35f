"""Container image references, as a model reference may name them
(``registry.example.com:5000/team/models:1.2/my_models.MyClassifier``): whether one is
valid. (Whether the Kubernetes launcher's allow-list admits it is ``contract``'s
``image_allowed``, which the launcher shares.) An image, not SQL."""

from __future__ import annotations

_DIGEST_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_reference_problem(image: str) -> str | None:
    """Why ``image`` is not a valid OCI image reference, or None. (An image, not SQL.)"""
    name, at, digest = image.partition("@")
    if at:
        algorithm, colon, hexdigest = digest.partition(":")
        if not colon or algorithm not in _DIGEST_ALGORITHMS:
            return "a digest is written @sha256:<hex>"
        if len(hexdigest) != _DIGEST_ALGORITHMS[algorithm] or any(
            c not in "0123456789abcdef" for c in hexdigest
        ):
            return f"a {algorithm} digest has {_DIGEST_ALGORITHMS[algorithm]} lower-case hex digits"
    components = name.split("/")
    last = components[-1]
    if ":" in last:
        last, _, tag = last.partition(":")
        if (
            not tag
            or len(tag) > 128
            or not (tag[0].isalnum() or tag[0] == "_")
            or any(not (c.isalnum() or c in "._-") for c in tag)
        ):
            return f"invalid tag '{tag}'"
        components[-1] = last
    registry = (
        components[0]
        if len(components) > 1
        and ("." in components[0] or ":" in components[0] or components[0] == "localhost")
        else None
    )
    path = components[1:] if registry else components
    if registry is not None:
        host, _, port = registry.partition(":")
        if not host or (port and not port.isdigit()):
            return f"invalid registry '{registry}'"
    for component in path:
        if (
            not component
            or component != component.lower()
            or not component[0].isalnum()
            or any(not (c.isalnum() or c in "._-") for c in component)
        ):
            return f"invalid repository component '{component}' (lower-case letters, digits, '.', '_', '-')"
    return None
