"""GitHub's OpenAPI description of the endpoints ccm uses, and a checker for requests and responses."""
