//! The metadata an open-data release carries beside its files, in the forms
//! portals harvest: a W3C CSV on the Web (CSVW) document describing every
//! column of a CSV file, a DCAT-AP 3 dataset record per collection, and a
//! DCAT-AP catalogue record for the release (JSON-LD). Deterministic: the
//! same data gives the same bytes (no generation time; `modified` is the
//! newest record's change).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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
