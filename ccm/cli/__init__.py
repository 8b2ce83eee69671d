"""The ``ccm`` command."""
