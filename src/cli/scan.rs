//! `gridline scan gistar`: Getis-Ord Gi* over any polygon layer a GIS analyst brings, from a GeoJSON file to a CSV or
//! GeoJSON file. Only the file reading and writing is here; the statistics are `crate::analytics`. Every refusal
//! (islands, all-zero or constant values, a missing or non-numeric field, invalid or non-polygon geometry) is one
//! line starting with a stable code, and a non-zero exit.

use crate::analytics::{self, Options, Weights, WeightsSpec};
use crate::geo::layers::{self, Limits};
use clap::{Args, Subcommand};
use geo::{MultiPolygon, Polygon};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Scans.
#[derive(Debug, Subcommand)]
pub enum ScanWhat {
    /// Getis-Ord Gi* of one numeric field over a polygon layer (as PySAL esda's G_Local with transform='B',
    /// star=True): per feature Gi*, z, one-tailed normal p, pseudo p and the ArcGIS confidence bin −3..3.
    Gistar(GistarArgs),
    /// Hot spot clusters in the city's own data: places with more calls on a topic than usual (their own history
    /// or, without one, their households), as `POST /api/v1/scans` computes them.
    Hotspots(Box<super::hotspots::HotspotsArgs>),
    /// Seasonal forewarning (冬病夏治): for each seasonal topic whose season starts within the policy's weeks, last
    /// season's clusters in each district of `forewarning.districts`, proposed once (as the scheduler does).
    Forewarning(super::forewarning::ForewarningArgs),
}

/// Arguments of `scan gistar`.
#[derive(Debug, Args)]
pub struct GistarArgs {
    /// The polygon layer: a GeoJSON FeatureCollection of Polygon / MultiPolygon features (gzip accepted); lon/lat
    /// degrees for a distance band.
    #[arg(long)]
    pub polygons: PathBuf,
    /// The property holding each feature's value (a number ≥ 0, e.g. a count).
    #[arg(long)]
    pub value: String,
    /// The property holding each feature's id (default: the feature's `id`, else its position from 0).
    #[arg(long)]
    pub id: Option<String>,
    /// Neighbours: queen (share a vertex), rook (share an edge) or distance:METRES between centroids.
    #[arg(long, default_value = "queen")]
    pub weights: WeightsSpec,
    /// Permutations for the pseudo p-value: 0 for none, else 99 to 9999.
    #[arg(long, default_value_t = 999)]
    pub permutations: u32,
    /// Seed of the permutations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Benjamini–Hochberg false discovery rate correction of the confidence bins.
    #[arg(long)]
    pub fdr: bool,
    /// Where to write: FILE.csv (id,value,gi,z,p_norm,p_sim,bin) or FILE.geojson (the input's features with those
    /// properties added).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs a scan.
pub fn run(what: ScanWhat) -> anyhow::Result<()> {
    match what {
        ScanWhat::Gistar(args) => gistar(&args),
        ScanWhat::Hotspots(args) => super::hotspots::run(&args),
        ScanWhat::Forewarning(args) => super::forewarning::run(&args),
    }
}

/// A refusal: its code first, as the other commands print theirs.
fn refuse(code: &str, message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{code}: {message}")
}

enum Format {
    Csv,
    GeoJson,
}

fn gistar(args: &GistarArgs) -> anyhow::Result<()> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
        Some(e) if e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json") => {
            Format::GeoJson
        }
        _ => {
            return Err(refuse(
                "unknown_output_format",
                format!("--out {} must end in .csv or .geojson", args.out.display()),
            ));
        }
    };
    let mut collection = read_collection(&args.polygons)?;
    let layer = read_layer(&collection, &args.value, args.id.as_deref())?;
    let weights = Weights::build(&layer.polygons, args.weights)
        .map_err(|e| refuse(e.code(), with_ids(&e, &layer.ids)))?;
    let islands = weights.islands();
    if !islands.is_empty() && layer.ids.len() > 1 {
        let named: Vec<&str> = islands
            .iter()
            .take(10)
            .map(|&i| layer.ids[i].as_str())
            .collect();
        return Err(refuse(
            "islands",
            format!(
                "{} feature(s) have no neighbour under {} weights: {}{}; use --weights distance:METRES, or drop or \
                 merge them",
                islands.len(),
                args.weights,
                named.join(", "),
                if islands.len() > 10 { ", ..." } else { "" }
            ),
        ));
    }
    let options = Options {
        permutations: args.permutations,
        seed: args.seed,
        fdr: args.fdr,
    };
    let result = analytics::gistar(&layer.values, &weights, &options).map_err(|e| {
        let message = match e {
            analytics::Error::AllZero => format!(
                "every value of {:?} is zero; there is nothing to scan",
                args.value
            ),
            _ => with_ids(&e, &layer.ids),
        };
        refuse(e.code(), message)
    })?;
    match format {
        Format::Csv => write_csv(&args.out, &layer, &result)?,
        Format::GeoJson => {
            for (k, feature) in collection.features.iter_mut().enumerate() {
                let props = feature.properties.get_or_insert_with(Default::default);
                props.insert("gi".into(), result.gi[k].into());
                props.insert("z".into(), result.z[k].into());
                props.insert("p_norm".into(), result.p_norm[k].into());
                let p_sim = result.p_sim.as_ref().map(|p| p[k]);
                props.insert("p_sim".into(), p_sim.into());
                props.insert("bin".into(), result.bin[k].into());
            }
            let text = serde_json::to_vec(&collection)?;
            std::fs::write(&args.out, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.out.display()))?;
        }
    }
    let hot = result.bin.iter().filter(|&&b| b > 0).count();
    let cold = result.bin.iter().filter(|&&b| b < 0).count();
    println!(
        "gistar: {} features, {} weights ({} links), {} permutations (seed {}), FDR {}: {hot} hot and {cold} cold \
         at 90 % or more; wrote {}",
        layer.ids.len(),
        args.weights,
        weights.links(),
        args.permutations,
        args.seed,
        if args.fdr { "on" } else { "off" },
        args.out.display()
    );
    Ok(())
}

/// An analytics error's message with the position of the unit it names replaced by the feature's id.
fn with_ids(e: &analytics::Error, ids: &[String]) -> String {
    use analytics::Error as E;
    let unit = match e {
        E::NonFinite { unit }
        | E::Negative { unit, .. }
        | E::NeighboursEveryone { unit }
        | E::NotLonLat { unit, .. }
        | E::EmptyGeometry { unit } => Some(*unit),
        _ => None,
    };
    match unit.and_then(|u| ids.get(u).map(|id| (u, id))) {
        Some((u, id)) => e
            .to_string()
            .replace(&format!("unit #{u}"), &format!("feature {id}")),
        None => e.to_string(),
    }
}

fn read_collection(path: &Path) -> anyhow::Result<geojson::FeatureCollection> {
    let bytes = super::read_file(path)?;
    let bytes = layers::decode_bytes(&bytes).map_err(|e| refuse("file_too_large", e))?;
    let collection: geojson::FeatureCollection = serde_json::from_slice(&bytes).map_err(|e| {
        refuse(
            "not_geojson",
            format!("{} is not a GeoJSON FeatureCollection: {e}", path.display()),
        )
    })?;
    let limits = Limits::DEFAULT;
    if collection.features.len() > limits.features {
        return Err(refuse(
            "too_many_features",
            format!("the file has more than {} features", limits.features),
        ));
    }
    Ok(collection)
}

/// The features as the analysis needs them, in the file's order.
struct Layer {
    ids: Vec<String>,
    values: Vec<f64>,
    polygons: Vec<MultiPolygon<f64>>,
}

fn read_layer(
    collection: &geojson::FeatureCollection,
    value_field: &str,
    id_field: Option<&str>,
) -> anyhow::Result<Layer> {
    let limits = Limits::DEFAULT;
    let mut layer = Layer {
        ids: Vec::with_capacity(collection.features.len()),
        values: Vec::with_capacity(collection.features.len()),
        polygons: Vec::with_capacity(collection.features.len()),
    };
    let mut vertices = 0usize;
    for (index, f) in collection.features.iter().enumerate() {
        let props = f.properties.as_ref();
        let id = match id_field {
            Some(field) => match props.and_then(|p| p.get(field)) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => {
                    return Err(refuse(
                        "missing_id",
                        format!(
                            "feature #{index} has no string or number property {field:?} for --id"
                        ),
                    ));
                }
            },
            None => match &f.id {
                Some(geojson::feature::Id::String(s)) => s.clone(),
                Some(geojson::feature::Id::Number(n)) => n.to_string(),
                None => index.to_string(),
            },
        };
        let value = match props.and_then(|p| p.get(value_field)) {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            None | Some(serde_json::Value::Null) => {
                return Err(refuse(
                    "missing_value",
                    format!("feature {id} has no property {value_field:?}"),
                ));
            }
            Some(_) => None,
        }
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            refuse(
                "non_numeric_value",
                format!("property {value_field:?} of feature {id} is not a finite number"),
            )
        })?;
        if value < 0.0 {
            return Err(refuse(
                "negative_value",
                format!(
                    "property {value_field:?} of feature {id} is negative ({value}); Gi* needs values of 0 or more"
                ),
            ));
        }
        let polygon = polygon(f.geometry.as_ref())
            .map_err(|why| refuse("invalid_geometry", format!("feature {id}: {why}")))?;
        vertices += polygon
            .0
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum::<usize>();
        if vertices > limits.vertices {
            return Err(refuse(
                "too_many_vertices",
                format!(
                    "the file has more than {} vertices; simplify or split it",
                    limits.vertices
                ),
            ));
        }
        if let Some(problem) = crate::geo::validate::validation_errors(&polygon).first() {
            return Err(refuse(
                "invalid_geometry",
                format!("feature {id}: {problem}"),
            ));
        }
        layer.ids.push(id);
        layer.values.push(value);
        layer.polygons.push(polygon);
    }
    if layer.ids.len() < 2 {
        return Err(refuse(
            "too_few_units",
            format!(
                "the layer has {} feature(s); a hot spot scan needs at least 2",
                layer.ids.len()
            ),
        ));
    }
    Ok(layer)
}

/// A feature's geometry as a multipolygon with finite coordinates, or why not.
fn polygon(geometry: Option<&geojson::Geometry>) -> Result<MultiPolygon<f64>, String> {
    let g = geometry.ok_or("the feature has no geometry")?;
    let mp = match &g.value {
        geojson::GeometryValue::Polygon { .. } => Polygon::<f64>::try_from(&g.value)
            .map(|p| MultiPolygon::new(vec![p]))
            .map_err(|e| e.to_string())?,
        geojson::GeometryValue::MultiPolygon { .. } => {
            MultiPolygon::<f64>::try_from(&g.value).map_err(|e| e.to_string())?
        }
        _ => return Err("the geometry is not a Polygon or MultiPolygon".to_owned()),
    };
    if mp.0.is_empty() {
        return Err("the geometry is empty".to_owned());
    }
    let finite = mp.0.iter().all(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .all(|r| r.0.iter().all(|c| c.x.is_finite() && c.y.is_finite()))
    });
    if !finite {
        return Err("a coordinate is not a finite number".to_owned());
    }
    Ok(mp)
}

fn write_csv(path: &Path, layer: &Layer, result: &analytics::GiStar) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    w.write_record(["id", "value", "gi", "z", "p_norm", "p_sim", "bin"])?;
    for (k, id) in layer.ids.iter().enumerate() {
        let p_sim = result
            .p_sim
            .as_ref()
            .map(|p| p[k].to_string())
            .unwrap_or_default();
        w.write_record([
            id.clone(),
            layer.values[k].to_string(),
            result.gi[k].to_string(),
            result.z[k].to_string(),
            result.p_norm[k].to_string(),
            p_sim,
            result.bin[k].to_string(),
        ])?;
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?
        .flush()?;
    Ok(())
}
