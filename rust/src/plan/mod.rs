//! Stage 2, plan: resolve an `ApiRequest` against the schema cache into an action plan, or a PGRST2xx error.
