//! HTTP: thin handlers and the DTOs that match `api-spec/openapi.yaml`, one file per area.
//!
//! Routes are registered through [`Routes`], which records every (method, path) it registers; the spec test
//! compares that list with the spec, so a route cannot exist without being documented.

pub mod access;
pub mod admin;
pub mod assessment;
pub mod auth;
pub mod cases;
pub mod chain;
pub mod client_addr;
pub mod devices;
pub mod dto;
pub mod forewarnings;
pub mod health;
pub mod heatmap;
pub mod intake;
pub mod locate;
pub mod monthly;
pub mod open311;
pub mod org;
pub mod overview;
pub mod photos;
pub mod places;
pub mod policy;
pub mod proactive;
pub mod public;
pub mod pull;
pub mod query;
pub mod scans;
pub mod state;
pub mod sync;
pub mod tiles;
pub mod webapp;
pub mod work;
pub mod workflow;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, web};

/// Registers routes on an actix `ServiceConfig`, or only lists them.
pub struct Routes<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    seen: Vec<(Method, &'static str)>,
}

impl<'a> Routes<'a> {
    /// A registrar that registers on `cfg` (or only records, with `None`).
    pub fn new(cfg: Option<&'a mut web::ServiceConfig>) -> Routes<'a> {
        Routes {
            cfg,
            seen: Vec::new(),
        }
    }

    /// Registers `handler` for `method` on `path` (actix path syntax, which is also OpenAPI's: `{code}`).
    pub fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.seen.push((method.clone(), path));
        if let Some(cfg) = self.cfg.as_deref_mut() {
            cfg.route(path, web::method(method).to(handler));
        }
        self
    }

    /// Every (method, path) registered so far.
    pub fn into_list(self) -> Vec<(Method, &'static str)> {
        self.seen
    }
}

/// The whole API.
pub fn api(r: &mut Routes<'_>) {
    // Tiles first: a request is matched against the routes in this order, each route with a parameter by a regular
    // expression, and a map asks for dozens of tiles at a time (after a hundred routes, matching was a fifth of a
    // kept tile's time). The expressions are the `regex` crate's (actix-web's `unicode` feature): with
    // `regex-lite`'s, matching the tile route alone was a tenth of a kept tile's time.
    r.add(Method::GET, "/tiles/{layer}/{z}/{x}/{y}.mvt", tiles::tile);
    r.add(Method::GET, "/tiles/{layer}.json", tiles::tilejson);
    r.add(Method::GET, "/", webapp::index);
    r.add(Method::GET, "/web/{file}", webapp::file);
    r.add(
        Method::GET,
        "/web/vendor/maplibre-gl/{file}",
        webapp::maplibre,
    );
    r.add(Method::GET, "/healthz", health::healthz);
    r.add(Method::GET, "/readyz", health::readyz);
    r.add(Method::POST, "/api/v1/auth/login", auth::login);
    r.add(Method::POST, "/api/v1/auth/logout", auth::logout);
    r.add(Method::GET, "/api/v1/auth/me", auth::me);
    r.add(Method::GET, "/api/v1/admin/users", admin::list_users);
    r.add(
        Method::POST,
        "/api/v1/admin/users/{username}/revoke-tokens",
        admin::revoke_tokens,
    );
    r.add(
        Method::PUT,
        "/api/v1/admin/users/{username}/scopes",
        admin::set_scopes,
    );
    r.add(
        Method::PUT,
        "/api/v1/admin/users/{username}/units",
        admin::set_units,
    );
    r.add(Method::POST, "/api/v1/units", org::create_unit);
    r.add(Method::GET, "/api/v1/units", org::list_units);
    r.add(Method::GET, "/api/v1/units/{id}", org::get_unit);
    r.add(Method::PATCH, "/api/v1/units/{id}", org::update_unit);
    r.add(Method::DELETE, "/api/v1/units/{id}", org::delete_unit);
    r.add(Method::POST, "/api/v1/people", org::create_person);
    r.add(Method::GET, "/api/v1/people", org::list_people);
    r.add(Method::GET, "/api/v1/people/{id}", org::get_person);
    r.add(Method::PATCH, "/api/v1/people/{id}", org::update_person);
    r.add(Method::DELETE, "/api/v1/people/{id}", org::delete_person);
    r.add(Method::POST, "/api/v1/sections", chain::create_section);
    r.add(Method::GET, "/api/v1/sections", chain::sections);
    r.add(Method::POST, "/api/v1/assignments", chain::assign);
    r.add(Method::GET, "/api/v1/assignments", chain::history);
    r.add(Method::POST, "/api/v1/assignments/{id}/end", chain::end);
    r.add(Method::GET, "/api/v1/chain", chain::point_chain);
    r.add(
        Method::GET,
        "/api/v1/places/{code}/chain",
        chain::place_chain,
    );
    r.add(Method::GET, "/api/v1/topics", intake::list_topics);
    r.add(Method::GET, "/api/v1/topics/ranking", monthly::ranking);
    r.add(Method::POST, "/api/v1/tickets", intake::file_ticket);
    r.add(Method::POST, "/api/v1/reports", intake::file_report);
    r.add(Method::GET, "/api/v1/cases", cases::list);
    r.add(Method::POST, "/api/v1/public/status", public::status);
    r.add(Method::GET, "/api/v1/cases/{id}", cases::get);
    r.add(Method::POST, "/api/v1/cases/{id}/unmerge", cases::unmerge);
    r.add(
        Method::POST,
        "/api/v1/cases/{id}/transitions",
        workflow::transition,
    );
    r.add(Method::GET, "/api/v1/sync/pull", pull::pull);
    r.add(Method::HEAD, "/api/v1/photos/{sha256}", photos::head_photo);
    // The photo files answer HEAD as GET does (without the body): a client asks whether it may fetch one.
    for method in [Method::GET, Method::HEAD] {
        r.add(
            method.clone(),
            "/api/v1/photos/{sha256}/thumb",
            photos::thumb,
        );
        r.add(
            method.clone(),
            "/api/v1/photos/{sha256}/display",
            photos::display,
        );
        r.add(method, "/api/v1/photos/{sha256}/original", photos::original);
    }
    r.add(Method::POST, "/api/v1/photo-uploads", photos::create_upload);
    r.add(
        Method::HEAD,
        "/api/v1/photo-uploads/{id}",
        photos::upload_offset,
    );
    r.add(Method::PATCH, "/api/v1/photo-uploads/{id}", photos::append);
    r.add(
        Method::GET,
        "/api/v1/reports/{id}/photos",
        photos::report_photos,
    );
    r.add(Method::GET, "/api/v1/dispatch/queue", work::queue);
    r.add(Method::GET, "/api/v1/escalations", work::escalations);
    r.add(Method::GET, "/api/v1/policy", policy::list);
    r.add(Method::PUT, "/api/v1/policy/{key}", policy::set);
    r.add(Method::DELETE, "/api/v1/policy/{key}", policy::unset);
    r.add(Method::GET, "/api/v1/admin/pii-reads", admin::pii_reads);
    r.add(Method::GET, "/api/v1/assessment", assessment::get);
    r.add(Method::GET, "/api/v1/heatmap", heatmap::get);
    r.add(Method::GET, "/api/v1/places/{code}/trend", heatmap::trend);
    r.add(Method::GET, "/api/v1/my/overview", overview::get);
    // Hot spot scans as background jobs.
    r.add(Method::POST, "/api/v1/scans", scans::create);
    r.add(Method::GET, "/api/v1/scans", scans::list);
    r.add(Method::GET, "/api/v1/scans/{id}", scans::get);
    // Proactive cases made from scan clusters (未诉先办) and whether they worked.
    r.add(Method::POST, "/api/v1/scans/{id}/tasks", proactive::create);
    r.add(Method::GET, "/api/v1/proactive", proactive::list);
    // Last season's clusters of seasonal topics, proposed before the season (冬病夏治).
    r.add(Method::GET, "/api/v1/forewarnings", forewarnings::list);
    r.add(Method::POST, "/api/v1/devices", devices::register);
    r.add(Method::GET, "/api/v1/devices", devices::list);
    r.add(Method::POST, "/api/v1/devices/{id}/revoke", devices::revoke);
    r.add(Method::POST, "/api/v1/sync/push", sync::push);
    r.add(Method::GET, "/api/v1/sync/ops", sync::ops);
    r.add(Method::GET, "/api/v1/sync/conflicts", sync::conflicts);
    r.add(Method::GET, "/api/v1/locate", locate::locate);
    r.add(Method::POST, "/api/v1/locate/batch", locate::locate_batch);
    r.add(Method::GET, "/api/v1/places/{code}", places::get_place);
    r.add(
        Method::GET,
        "/api/v1/places/{code}/children",
        places::children,
    );
    r.add(
        Method::GET,
        "/open311/v2/discovery.json",
        open311::discovery,
    );
    r.add(Method::GET, "/open311/v2/services.json", open311::services);
    r.add(
        Method::GET,
        "/open311/v2/services/{code}.json",
        open311::service_definition,
    );
    r.add(
        Method::GET,
        "/open311/v2/requests.json",
        open311::list_requests,
    );
    r.add(
        Method::POST,
        "/open311/v2/requests.json",
        open311::post_request,
    );
    r.add(
        Method::GET,
        "/open311/v2/requests/{id}.json",
        open311::get_request,
    );
}
