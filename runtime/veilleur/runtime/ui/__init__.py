"""The operator web interface (EX-045): static French pages served by the runtime service.

Plain HTML, CSS and JavaScript modules shipped in the package (no build step, no CDN, no
external font: the site is air-gapped). Every page checks the session through
``/api/v1/auth/me`` and shows only what the user's permissions allow; the API enforces them.
"""
