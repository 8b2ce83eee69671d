"""ccm, the CI/CD Manager: declare GitHub Actions pipelines in YAML and keep GitHub converged.

Layers import downwards only: ``spec`` and ``pipeline`` (models) at the bottom, then ``registry``
and ``github``, then ``reconcile``, then ``manager``, and ``api``, ``monitor`` and ``cli`` on top.
"""

__version__ = "0.1.0"
