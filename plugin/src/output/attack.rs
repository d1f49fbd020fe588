//! Where alerts sit in MITRE ATT&CK: the tactics and techniques the rules name (each rule's
//! `RuleMeta::attack`), written as ECS `threat.*` on every alert.

use serde::Serialize;

/// A tactic, technique or sub-technique: its ATT&CK id and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttackRef {
    /// `TA0011`, `T1071`, `T1071.001`.
    pub id: &'static str,
    /// Its name in ATT&CK.
    pub name: &'static str,
}

/// A rule's place in ATT&CK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attack {
    /// The tactic (the adversary's goal).
    pub tactic: AttackRef,
    /// The technique.
    pub technique: AttackRef,
    /// The sub-technique, where one fits.
    pub subtechnique: Option<AttackRef>,
}

/// TA0001.
pub const INITIAL_ACCESS: AttackRef = AttackRef { id: "TA0001", name: "Initial Access" };
/// TA0010.
pub const EXFILTRATION: AttackRef = AttackRef { id: "TA0010", name: "Exfiltration" };
/// TA0011.
pub const COMMAND_AND_CONTROL: AttackRef = AttackRef { id: "TA0011", name: "Command and Control" };

/// T1071.
pub const APPLICATION_LAYER_PROTOCOL: AttackRef = AttackRef { id: "T1071", name: "Application Layer Protocol" };
/// T1071.001.
pub const WEB_PROTOCOLS: AttackRef = AttackRef { id: "T1071.001", name: "Web Protocols" };
/// T1566.
pub const PHISHING: AttackRef = AttackRef { id: "T1566", name: "Phishing" };
/// T1566.001.
pub const SPEARPHISHING_ATTACHMENT: AttackRef = AttackRef { id: "T1566.001", name: "Spearphishing Attachment" };
/// T1567.
pub const EXFILTRATION_OVER_WEB_SERVICE: AttackRef = AttackRef { id: "T1567", name: "Exfiltration Over Web Service" };
/// T1571.
pub const NON_STANDARD_PORT: AttackRef = AttackRef { id: "T1571", name: "Non-Standard Port" };
/// T1572.
pub const PROTOCOL_TUNNELING: AttackRef = AttackRef { id: "T1572", name: "Protocol Tunneling" };

impl Attack {
    /// A technique of a tactic.
    pub const fn technique(tactic: AttackRef, technique: AttackRef) -> Attack {
        Attack { tactic, technique, subtechnique: None }
    }

    /// A sub-technique of a technique of a tactic.
    pub const fn subtechnique(tactic: AttackRef, technique: AttackRef, subtechnique: AttackRef) -> Attack {
        Attack { tactic, technique, subtechnique: Some(subtechnique) }
    }

    /// The ECS `threat` object of an alert.
    pub(crate) fn threat(&self) -> ThreatFields {
        ThreatFields {
            framework: "MITRE ATT&CK",
            tactic: Entry::of(self.tactic, "tactics"),
            technique: TechniqueEntry {
                entry: Entry::of(self.technique, "techniques"),
                subtechnique: self.subtechnique.map(|s| Entry::of(s, "techniques")),
            },
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ThreatFields {
    framework: &'static str,
    tactic: Entry,
    technique: TechniqueEntry,
}

#[derive(Serialize)]
struct Entry {
    id: &'static str,
    name: &'static str,
    reference: String,
}

impl Entry {
    /// With its page on attack.mitre.org (`T1071.001` is `techniques/T1071/001/`).
    fn of(r: AttackRef, kind: &str) -> Entry {
        Entry { id: r.id, name: r.name, reference: format!("https://attack.mitre.org/{kind}/{}/", r.id.replace('.', "/")) }
    }
}

#[derive(Serialize)]
struct TechniqueEntry {
    #[serde(flatten)]
    entry: Entry,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtechnique: Option<Entry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtechnique_is_written_under_its_technique_with_references() {
        let a = Attack::subtechnique(COMMAND_AND_CONTROL, APPLICATION_LAYER_PROTOCOL, WEB_PROTOCOLS);
        assert_eq!(
            serde_json::to_value(a.threat()).unwrap(),
            serde_json::json!({
                "framework": "MITRE ATT&CK",
                "tactic": {"id": "TA0011", "name": "Command and Control", "reference": "https://attack.mitre.org/tactics/TA0011/"},
                "technique": {
                    "id": "T1071", "name": "Application Layer Protocol", "reference": "https://attack.mitre.org/techniques/T1071/",
                    "subtechnique": {"id": "T1071.001", "name": "Web Protocols", "reference": "https://attack.mitre.org/techniques/T1071/001/"}
                }
            })
        );
    }
}
