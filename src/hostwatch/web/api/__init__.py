"""The versioned JSON API (``/api/v1``): one router per resource."""
