//! The metadata an open-data release carries beside its files, in the forms
//! portals harvest: a W3C CSV on the Web (CSVW) document describing every
//! column of a CSV file, a DCAT-AP 3 dataset record per collection, and a
//! DCAT-AP catalogue record for the release (JSON-LD). Deterministic: the
//! same data gives the same bytes (no generation time; `modified` is the
//! newest record's change). `table` writes a collection's files as its
//! records stream by.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod table;
pub use table::{Collection, Entry, Seen, Table};

/// CC BY 4.0, the licence the EU Public Sector Tech Watch publishes under.
pub const CC_BY_4: &str = "http://creativecommons.org/licenses/by/4.0/";

/// One column of a collection's CSV file.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header.
    pub name: &'static str,
    /// What it holds.
    pub description: &'static str,
    /// Its CSVW datatype: `string`, `date`, `datetime`, `integer` or `json`
    /// (a JSON array or object in the cell).
    pub datatype: &'static str,
}

impl Column {
    /// A column named `name` of CSVW `datatype`, holding `description`.
    pub const fn new(
        name: &'static str,
        datatype: &'static str,
        description: &'static str,
    ) -> Column {
        Column {
            name,
            description,
            datatype,
        }
    }
}

/// The `create_time` column most collections end with.
pub const CREATED: Column = Column::new(
    "create_time",
    "datetime",
    "When the record was created, RFC 3339 UTC.",
);

/// The `update_time` column most collections end with.
pub const UPDATED: Column = Column::new(
    "update_time",
    "datetime",
    "When the record last changed, RFC 3339 UTC.",
);

/// What every record of a release says of its publisher and licence, and
/// where its files are published.
#[derive(Debug, Clone)]
pub struct Release {
    /// Where the files are published (the folder's URL, ending in `/`).
    pub base_url: String,
    /// The publisher's URI (an organisation's identifier, e.g. its web page).
    pub publisher_uri: String,
    /// The publisher's name.
    pub publisher_name: String,
    /// The licence's URI.
    pub licence: String,
}

/// Where an `export` command's release will be published, and by whom (the
/// same flags for every service's command).
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// Folder to write into (created if missing).
    #[arg(long, default_value = "innolab-export")]
    pub out_dir: std::path::PathBuf,
    /// Where the files will be published (their folder's URL); the DCAT
    /// records point there. Default: the folder itself, as a file: URL.
    #[arg(long, env = "INNOLAB_OPEN_DATA_BASE_URL")]
    pub base_url: Option<String>,
    /// The publisher's URI (e.g. the lab's web page). Default: the base URL.
    #[arg(long, env = "INNOLAB_OPEN_DATA_PUBLISHER_URI")]
    pub publisher_uri: Option<String>,
    /// The publisher's name.
    #[arg(
        long,
        env = "INNOLAB_OPEN_DATA_PUBLISHER_NAME",
        default_value = "innolab"
    )]
    pub publisher_name: String,
    /// The licence's URI.
    #[arg(long, env = "INNOLAB_OPEN_DATA_LICENCE", default_value = CC_BY_4)]
    pub licence: String,
}

impl ReleaseArgs {
    /// Creates the folder and says where its files will be published.
    pub fn release(&self) -> std::io::Result<Release> {
        std::fs::create_dir_all(&self.out_dir)?;
        let base_url = match &self.base_url {
            Some(url) if url.ends_with('/') => url.clone(),
            Some(url) => format!("{url}/"),
            None => format!(
                "file://{}/",
                std::fs::canonicalize(&self.out_dir)?.display()
            ),
        };
        Ok(Release {
            publisher_uri: self
                .publisher_uri
                .clone()
                .unwrap_or_else(|| base_url.clone()),
            base_url,
            publisher_name: self.publisher_name.clone(),
            licence: self.licence.clone(),
        })
    }
}

/// A collection as published: its texts per language, its columns and
/// what the export saw.
#[derive(Debug, Clone)]
pub struct Dataset<'a> {
    /// The file stem, e.g. `initiatives`.
    pub id: &'a str,
    /// Title per language (BCP 47 tag, text).
    pub titles: &'a [(&'a str, &'a str)],
    /// Description per language.
    pub descriptions: &'a [(&'a str, &'a str)],
    /// The CSV file's columns.
    pub columns: &'a [Column],
    /// The newest record's last change, RFC 3339 UTC; `None` when empty.
    pub modified: Option<String>,
    /// The earliest and latest day the records cover (YYYY-MM-DD).
    pub temporal: (Option<String>, Option<String>),
    /// The service's change-log sequence the export reflects.
    pub sequence: i64,
    /// Records written.
    pub records: usize,
}

/// One published file.
#[derive(Debug, Clone)]
pub struct File {
    /// Its name in the release folder.
    pub name: String,
    /// Its IANA media type.
    pub media_type: &'static str,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

impl File {
    /// Describes the file `name` of `dir` (reads it once).
    pub fn read(
        dir: &std::path::Path,
        name: &str,
        media_type: &'static str,
    ) -> std::io::Result<File> {
        let mut hasher = Sha256::new();
        let mut file = std::fs::File::open(dir.join(name))?;
        let bytes = std::io::copy(&mut file, &mut hasher)?;
        Ok(File {
            name: name.to_string(),
            media_type,
            bytes,
            sha256: hex(&hasher.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn texts(values: &[(&str, &str)]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|(language, text)| json!({"@value": text, "@language": language}))
            .collect(),
    )
}

/// The prefixes the records use, inline: a harvester need not fetch a
/// remote context to read them.
fn context() -> Value {
    json!({
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "owl": "http://www.w3.org/2002/07/owl#",
        "spdx": "http://spdx.org/rdf/terms#",
        "xsd": "http://www.w3.org/2001/XMLSchema#"
    })
}

/// The CSVW metadata document of `dataset`'s CSV file `csv` (named
/// `<csv>-metadata.json` beside it, where CSVW processors look for it).
pub fn csvw(release: &Release, dataset: &Dataset<'_>, csv: &str) -> Value {
    let columns: Vec<Value> = dataset
        .columns
        .iter()
        .map(|c| {
            let datatype = match c.datatype {
                // A JSON cell: CSVW's json datatype; empty when there is nothing.
                "json" => json!({"base": "json"}),
                "date" => json!({"base": "date", "format": "yyyy-MM-dd"}),
                "datetime" => json!({"base": "datetime"}),
                other => json!(other),
            };
            json!({
                "name": c.name,
                "titles": c.name,
                "dc:description": c.description,
                "datatype": datatype,
                "null": "",
            })
        })
        .collect();
    json!({
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "url": csv,
        "dc:title": texts(dataset.titles),
        "dc:description": texts(dataset.descriptions),
        "dc:license": {"@id": release.licence},
        "dc:publisher": {"schema:name": release.publisher_name, "schema:url": {"@id": release.publisher_uri}},
        "dialect": {"header": true, "encoding": "utf-8", "doubleQuote": true},
        "tableSchema": {
            "columns": columns,
            "primaryKey": dataset.columns.first().map(|c| c.name).unwrap_or("name"),
        },
    })
}

fn publisher(release: &Release) -> Value {
    json!({
        "@id": release.publisher_uri,
        "@type": "foaf:Agent",
        "foaf:name": release.publisher_name,
    })
}

/// The DCAT-AP 3 dataset record of `dataset`, published as `files`.
pub fn dataset(release: &Release, dataset: &Dataset<'_>, files: &[File]) -> Value {
    let distributions: Vec<Value> = files
        .iter()
        .map(|f| {
            let url = format!("{}{}", release.base_url, f.name);
            json!({
                "@id": url,
                "@type": "dcat:Distribution",
                "dct:title": f.name,
                "dcat:accessURL": {"@id": url},
                "dcat:downloadURL": {"@id": url},
                "dcat:mediaType": {"@id": format!("http://www.iana.org/assignments/media-types/{}", f.media_type)},
                "dcat:byteSize": {"@value": f.bytes.to_string(), "@type": "xsd:nonNegativeInteger"},
                "spdx:checksum": {
                    "@type": "spdx:Checksum",
                    "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                    "spdx:checksumValue": {"@value": f.sha256, "@type": "xsd:hexBinary"},
                },
                "dct:license": {"@id": release.licence},
            })
        })
        .collect();
    let mut record = json!({
        "@context": context(),
        "@id": format!("{}{}", release.base_url, dataset.id),
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.id,
        "dct:title": texts(dataset.titles),
        "dct:description": texts(dataset.descriptions),
        "dct:publisher": publisher(release),
        "owl:versionInfo": format!("change-log sequence {}", dataset.sequence),
        "dcat:distribution": distributions,
    });
    if let Some(modified) = &dataset.modified {
        record["dct:modified"] = json!({"@value": modified, "@type": "xsd:dateTime"});
    }
    if let (Some(start), Some(end)) = &dataset.temporal {
        record["dct:temporal"] = json!({
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": {"@value": start, "@type": "xsd:date"},
            "dcat:endDate": {"@value": end, "@type": "xsd:date"},
        });
    }
    record
}

/// The DCAT-AP 3 catalogue record of a release holding `datasets` (the
/// dataset records, inlined).
pub fn catalogue(
    release: &Release,
    titles: &[(&str, &str)],
    descriptions: &[(&str, &str)],
    datasets: &[Value],
) -> Value {
    let inlined: Vec<Value> = datasets
        .iter()
        .map(|d| {
            let mut d = d.clone();
            if let Some(object) = d.as_object_mut() {
                object.remove("@context");
            }
            d
        })
        .collect();
    json!({
        "@context": context(),
        "@id": format!("{}catalogue", release.base_url),
        "@type": "dcat:Catalog",
        "dct:title": texts(titles),
        "dct:description": texts(descriptions),
        "dct:publisher": publisher(release),
        "dct:license": {"@id": release.licence},
        "foaf:homepage": {"@id": release.base_url},
        "dcat:dataset": inlined,
    })
}

/// A time kept as microseconds since the epoch, in RFC 3339 UTC (empty
/// when out of range).
pub fn rfc3339(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A CSV header line of `columns` (RFC 4180, CRLF line ends).
pub fn csv_header(columns: &[Column]) -> String {
    let cells: Vec<String> = columns.iter().map(|c| csv_cell(c.name)).collect();
    format!("{}\r\n", cells.join(","))
}

/// One CSV line of `record`, a JSON object keyed by the columns' names:
/// texts as they are, numbers, lists and objects as JSON text, nothing for
/// a missing key or null.
pub fn csv_line(columns: &[Column], record: &Value) -> String {
    let cells: Vec<String> = columns
        .iter()
        .map(|column| match record.get(column.name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => csv_cell(s),
            Some(other) => csv_cell(&other.to_string()),
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

/// One CSV cell (RFC 4180): quoted, with its quotes doubled, when it holds a
/// comma, a quote or a line break.
pub fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Writes `catalogue.jsonld` in `dir`: the catalogue of every dataset record
/// (`*.dcat.jsonld`) the folder holds, in file-name order, so that each
/// service's export adds its datasets to one release.
pub fn write_catalogue(dir: &std::path::Path, release: &Release) -> std::io::Result<()> {
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".dcat.jsonld"))
        })
        .collect();
    names.sort();
    let mut datasets = Vec::with_capacity(names.len());
    for path in names {
        let text = std::fs::read_to_string(&path)?;
        datasets.push(serde_json::from_str(&text).map_err(std::io::Error::other)?);
    }
    write_json(
        &dir.join("catalogue.jsonld"),
        &catalogue(
            release,
            &[("en", "innolab open data"), ("ro", "Date deschise innolab")],
            &[(
                "en",
                "The public collections of a national public-sector innovation lab: its \
                 network, its case library and what was learnt from it.",
            )],
            &datasets,
        ),
    )
}

/// Writes the CSVW description of `dataset`'s CSV file and its DCAT-AP
/// record (`<id>.csv-metadata.json`, `<id>.dcat.jsonld`) in `dir`, the
/// record naming `files` (the CSV first) as its distributions.
pub fn write_dataset(
    dir: &std::path::Path,
    release: &Release,
    dataset: &Dataset<'_>,
    files: &[(&str, &'static str)],
) -> std::io::Result<()> {
    let described = files
        .iter()
        .map(|(name, media_type)| File::read(dir, name, media_type))
        .collect::<std::io::Result<Vec<File>>>()?;
    let csv = format!("{}.csv", dataset.id);
    write_json(
        &dir.join(format!("{csv}-metadata.json")),
        &csvw(release, dataset, &csv),
    )?;
    write_json(
        &dir.join(format!("{}.dcat.jsonld", dataset.id)),
        &self::dataset(release, dataset, &described),
    )
}

/// Writes `value` as pretty JSON with a final newline (serde_json's key order
/// is fixed for a given value, so the same record gives the same bytes).
pub fn write_json(path: &std::path::Path, value: &Value) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release {
            base_url: "https://data.example.gov/innolab/".into(),
            publisher_uri: "https://sgg.gov.ro/".into(),
            publisher_name: "Secretariatul General al Guvernului".into(),
            licence: CC_BY_4.into(),
        }
    }

    #[test]
    fn records_name_their_files_and_say_what_they_hold() {
        let columns = [
            Column {
                name: "name",
                description: "Resource name.",
                datatype: "string",
            },
            Column {
                name: "tags",
                description: "Keywords.",
                datatype: "json",
            },
        ];
        let d = Dataset {
            id: "initiatives",
            titles: &[("en", "Initiatives"), ("ro", "Inițiative")],
            descriptions: &[("en", "The case library.")],
            columns: &columns,
            modified: Some("2026-12-07T10:00:00Z".into()),
            temporal: (Some("2020-01-01".into()), Some("2026-12-31".into())),
            sequence: 42,
            records: 2,
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("initiatives.csv"), "name,tags\n").unwrap();
        let file = File::read(dir.path(), "initiatives.csv", "text/csv").unwrap();
        assert_eq!(file.bytes, 10);
        let record = dataset(&release(), &d, std::slice::from_ref(&file));
        let distribution = &record["dcat:distribution"][0];
        assert_eq!(
            distribution["dcat:accessURL"]["@id"],
            "https://data.example.gov/innolab/initiatives.csv"
        );
        assert_eq!(
            distribution["spdx:checksum"]["spdx:checksumValue"]["@value"],
            file.sha256
        );
        assert_eq!(record["owl:versionInfo"], "change-log sequence 42");
        assert_eq!(record["dct:title"][1]["@language"], "ro");
        let metadata = csvw(&release(), &d, "initiatives.csv");
        assert_eq!(
            metadata["tableSchema"]["columns"][1]["datatype"]["base"],
            "json"
        );
        let cat = catalogue(
            &release(),
            &[("en", "innolab")],
            &[("en", "All")],
            &[record],
        );
        assert!(cat["dcat:dataset"][0].get("@context").is_none());
        assert_eq!(cat["@type"], "dcat:Catalog");
    }
}
