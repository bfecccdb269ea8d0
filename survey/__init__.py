"""The PAR-index survey platform: a Flask application factory."""

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from survey import config as cfg


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the application; nothing is created at import time."""
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("SURVEY_INSTANCE_PATH") or None)
    os.makedirs(app.instance_path, exist_ok=True)
    from survey import converters

    converters.init_app(app)  # before any route: an id past the database's integers is a 404
    app.config.from_mapping(cfg.defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(cfg.from_environment())
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["DATABASE_URL"] = cfg.normalise_database_url(app.config["DATABASE_URL"])
    app.config["SECRET_KEY"] = cfg.ensure_secret_key(app.config, app.instance_path)
    app.config.setdefault("TOKEN_KEY", app.config["SECRET_KEY"])
    cfg.check_production(app.config)
    cfg.check_release_batch(app.config)
    cfg.jobs_mode(app.config)
    from survey.sampling import crypto

    crypto.check_config(app.config)
    from survey import mail

    mail.check_config(app.config)
    if app.config["ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    from survey.bodylimit import StreamedBodyLimit

    app.wsgi_app = StreamedBodyLimit(app.wsgi_app, app.config)  # a chunked body over the limit: 413
    proxies = cfg.proxy_fix_counts(app.config)
    if any(proxies.values()):
        # Behind a reverse proxy: take the client's address, scheme and host from the headers the
        # trusted proxies set (the last N values), so that HTTPS, URLs and per-address limits are right.
        app.wsgi_app = ProxyFix(app.wsgi_app, **proxies)

    from survey import extensions

    extensions.init_app(app)
    from survey import assets

    assets.init_app(app)
    from survey import requestlog
    from survey.health import require_schema

    requestlog.init_app(app)  # first: the request id and clock start before any other hook answers
    from survey import metrics

    metrics.init_app(app)  # /metrics and request latencies, when SURVEY_METRICS is on
    app.before_request(require_schema)
    from survey import logmask

    logmask.mask_app_logs(app)
    _register_blueprints(app)
    from survey.respond.messages import choice_rule

    app.jinja_env.globals["choice_rule"] = choice_rule  # the phone's page and the paper form
    from survey import errors

    errors.register(app)
    from survey.cli import register_commands

    register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """Attach one blueprint per concern."""
    from survey.assessment.views import bp as assessment_bp
    from survey.auth.views import bp as auth_bp
    from survey.dashboard.views import bp as dashboard_bp
    from survey.entry.views import bp as entry_bp
    from survey.health import bp as health_bp
    from survey.instruments.framework_views import bp as frameworks_bp
    from survey.instruments.views import bp as instruments_bp
    from survey.jobs.views import bp as jobs_bp
    from survey.overall.views import bp as overall_bp
    from survey.respond.open_link import bp as open_link_bp
    from survey.respond.views import bp as respond_bp
    from survey.sampling.closing import bp as closing_bp
    from survey.sampling.draw_views import bp as draw_bp
    from survey.sampling.focal_views import bp as focal_bp
    from survey.sampling.focal_views import milestones_bp
    from survey.sampling.frame_views import bp as frame_bp
    from survey.sampling.invitation_views import bp as invitations_bp
    from survey.sampling.tracking_views import bp as tracking_bp
    from survey.sampling.views import bp as waves_bp
    from survey.staff import navigation
    from survey.staff.tokens_views import bp as tokens_bp
    from survey.staff.users_views import bp as users_bp
    from survey.staff.views import bp as staff_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(respond_bp)
    app.register_blueprint(open_link_bp)
    app.register_blueprint(entry_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(instruments_bp)
    app.register_blueprint(frameworks_bp)
    app.register_blueprint(overall_bp)
    app.register_blueprint(waves_bp)
    app.register_blueprint(frame_bp)
    app.register_blueprint(draw_bp)
    app.register_blueprint(tracking_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(focal_bp)
    app.register_blueprint(milestones_bp)
    app.register_blueprint(closing_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(tokens_bp)
    from survey import api

    api.init_app(app)
    app.register_blueprint(assessment_bp)
    from survey.health import register_bench_endpoint

    register_bench_endpoint(app)
    navigation.init_app(app)
    from survey.auth.access import check_declared

    check_declared(app)
