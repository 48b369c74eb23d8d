"""Request bodies as pydantic models, a module per feature: the input of the use cases (services) and the
bodies the HTTP layer validates with powertools (422 with field errors). Both layers import them; they import
neither. The value types of their fields, and each field's rule, are in `loyalty.domain.fields`. Nothing is
imported here: a function loads only the bodies of its own feature."""
