//! The public Azure regions' programmatic names (`az account list-locations --query
//! "[?metadata.regionType=='Physical'].name"`), including access-restricted ones, which a
//! subscription may be enabled for. Sovereign clouds (US Gov, China) are not included.

pub const AZURE_REGIONS: &[&str] = &[
    // Americas
    "eastus",
    "eastus2",
    "centralus",
    "northcentralus",
    "southcentralus",
    "westcentralus",
    "westus",
    "westus2",
    "westus3",
    "canadacentral",
    "canadaeast",
    "mexicocentral",
    "brazilsouth",
    "brazilsoutheast",
    "chilecentral",
    // Canary regions (early access)
    "centraluseuap",
    "eastus2euap",
    // Europe
    "northeurope",
    "westeurope",
    "austriaeast",
    "belgiumcentral",
    "denmarkeast",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "italynorth",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "switzerlandnorth",
    "switzerlandwest",
    "uksouth",
    "ukwest",
    // Middle East and Africa
    "israelcentral",
    "qatarcentral",
    "uaecentral",
    "uaenorth",
    "southafricanorth",
    "southafricawest",
    // Asia Pacific
    "eastasia",
    "southeastasia",
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "centralindia",
    "southindia",
    "westindia",
    "jioindiacentral",
    "jioindiawest",
    "indonesiacentral",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "newzealandnorth",
    "taiwannorth",
    "taiwannorthwest",
];

pub fn is_known(region: &str) -> bool {
    AZURE_REGIONS.contains(&region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_alphanumeric_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for region in AZURE_REGIONS {
            assert!(
                region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{region}"
            );
            assert!(seen.insert(region), "{region} twice");
        }
    }

    #[test]
    fn well_known_regions_are_present_and_display_names_are_not() {
        for region in ["eastus", "westeurope", "swedencentral", "australiacentral2"] {
            assert!(is_known(region), "{region}");
        }
        for not_a_name in ["East US", "EastUS", "us-east-1", "", "mars"] {
            assert!(!is_known(not_a_name), "{not_a_name}");
        }
    }
}
