"""Request and response schemas (pydantic), one module per plural stem."""
