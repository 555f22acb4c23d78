//! Interacting pairs of medicines or classes: how serious each is, what to
//! do about it, and which side to give up.
//!
//! # Sources
//!
//! Interactions cite the BNF interactions appendix, the MHRA Drug Safety
//! Update (simvastatin, August 2012) and the ONC high-priority drug–drug
//! interaction list (Phansalkar et al., *J Am Med Inform Assoc*
//! 2012;19(5):735–43, doi:10.1136/amiajnl-2011-000612); each pair names its
//! own in [`Interaction::source_label`] and [`Interaction::source_url`].

use super::level::Level;
use super::medicines::{
    ASPIRIN, ATAZANAVIR, ATORVASTATIN, CIPROFLOXACIN, CLARITHROMYCIN, Class, ERYTHROMYCIN,
    Medicine, PARACETAMOL, SIMVASTATIN, TIZANIDINE, TRAMADOL, WARFARIN,
};
use super::sources::{BNF_INTERACTIONS, MHRA_SIMVASTATIN, ONC_LIST};

/// One side of an interacting pair: a medicine or a whole class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// One medicine, by SNOMED CT code.
    Medicine(&'static str),
    /// Every medicine of a class.
    Class(Class),
}

impl Agent {
    /// Whether `medicine` is on this side of the pair.
    pub fn covers(self, medicine: &Medicine) -> bool {
        match self {
            Agent::Medicine(code) => medicine.code == code,
            Agent::Class(class) => medicine.is(class),
        }
    }
}

/// An interacting pair, symmetric: the draft may be on either side.
///
/// Side `a` is the one to give up: its medicine may be replaced or stopped.
/// A current medicine on side `b` is offered for stopping only when
/// [`Interaction::stop_b_ok`] says so (warfarin is not stopped to make room
/// for an NSAID).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// One side.
    pub a: Agent,
    /// The other side.
    pub b: Agent,
    /// How serious the interaction is.
    pub level: Level,
    /// The effect in a few words, for the summary.
    pub headline: &'static str,
    /// Markdown: the mechanism and what to do.
    pub detail: &'static str,
    /// The cited source.
    pub source_label: &'static str,
    /// A link to it.
    pub source_url: Option<&'static str>,
    /// A safer medicine to offer instead when the draft is on side `a`.
    pub alternative_for_a: Option<&'static str>,
    /// Whether stopping a current medicine on side `b` is a fair suggestion.
    pub stop_b_ok: bool,
}

/// Every interacting pair; see [`Interaction`].
static INTERACTIONS: [Interaction; 14] = [
    // BNF interactions (warfarin): NSAIDs increase the risk of bleeding
    // with coumarins; avoid, use paracetamol.
    Interaction {
        a: Agent::Class(Class::Nsaid),
        b: Agent::Medicine(WARFARIN),
        level: Level::Critical,
        headline: "serious bleeding risk; avoid the combination",
        detail: "NSAIDs impair platelet function and injure the stomach lining; with warfarin they \
                 sharply raise the risk of gastrointestinal and other serious bleeding. The BNF \
                 advises avoiding the combination.\n\n**What to do:** use paracetamol for pain. If \
                 an NSAID is unavoidable, give the lowest dose for the shortest time with a proton \
                 pump inhibitor, and check the INR.",
        source_label: "BNF: Warfarin interactions (NSAIDs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (warfarin): aspirin increases the risk of bleeding;
    // combine only where a specialist intends it.
    Interaction {
        a: Agent::Medicine(ASPIRIN),
        b: Agent::Medicine(WARFARIN),
        level: Level::Warning,
        headline: "added bleeding risk; only on specialist advice",
        detail: "Aspirin's antiplatelet effect adds to warfarin's anticoagulation and raises the \
                 risk of bleeding (BNF). The pair is used deliberately only in some cardiac \
                 conditions on specialist advice.\n\n**What to do:** if aspirin is for pain, use \
                 paracetamol. If it is antiplatelet treatment, confirm the combination is \
                 intended and consider gastroprotection.",
        source_label: "BNF: Warfarin interactions (aspirin)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (warfarin): macrolides increase the anticoagulant
    // effect of coumarins.
    Interaction {
        a: Agent::Class(Class::Macrolide),
        b: Agent::Medicine(WARFARIN),
        level: Level::Warning,
        headline: "may raise the INR; monitor it during the course",
        detail: "Clarithromycin and erythromycin inhibit warfarin's metabolism and can raise the \
                 INR and the risk of bleeding (BNF).\n\n**What to do:** check the INR during and \
                 soon after the course, or choose an antibacterial that does not interact.",
        source_label: "BNF: Warfarin interactions (macrolides)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: None,
        stop_b_ok: false,
    },
    // BNF interactions (warfarin): ciprofloxacin increases the anticoagulant
    // effect of coumarins.
    Interaction {
        a: Agent::Medicine(CIPROFLOXACIN),
        b: Agent::Medicine(WARFARIN),
        level: Level::Warning,
        headline: "may raise the INR; monitor it during the course",
        detail: "Ciprofloxacin can increase warfarin's anticoagulant effect and the risk of \
                 bleeding (BNF).\n\n**What to do:** check the INR during and soon after the \
                 course, or choose an antibacterial that does not interact.",
        source_label: "BNF: Warfarin interactions (quinolones)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: None,
        stop_b_ok: false,
    },
    // MHRA Drug Safety Update, August 2012: simvastatin is contraindicated
    // with clarithromycin (strong CYP3A4 inhibitor).
    Interaction {
        a: Agent::Medicine(CLARITHROMYCIN),
        b: Agent::Medicine(SIMVASTATIN),
        level: Level::Critical,
        headline: "contraindicated; risk of myopathy and rhabdomyolysis",
        detail: "Clarithromycin strongly inhibits CYP3A4, which clears simvastatin; simvastatin \
                 levels rise several-fold with a risk of myopathy and rhabdomyolysis. Simvastatin \
                 is contraindicated with clarithromycin (MHRA Drug Safety Update, August \
                 2012).\n\n**What to do:** suspend simvastatin for the course and for a few days \
                 after it, or choose an antibacterial that does not inhibit CYP3A4.",
        source_label: "MHRA Drug Safety Update (August 2012): simvastatin interactions",
        source_url: Some(MHRA_SIMVASTATIN),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // MHRA Drug Safety Update, August 2012: simvastatin is contraindicated
    // with erythromycin.
    Interaction {
        a: Agent::Medicine(ERYTHROMYCIN),
        b: Agent::Medicine(SIMVASTATIN),
        level: Level::Critical,
        headline: "contraindicated; risk of myopathy and rhabdomyolysis",
        detail: "Erythromycin inhibits CYP3A4, which clears simvastatin; simvastatin levels rise \
                 with a risk of myopathy and rhabdomyolysis. Simvastatin is contraindicated with \
                 erythromycin (MHRA Drug Safety Update, August 2012).\n\n**What to do:** suspend \
                 simvastatin for the course and for a few days after it, or choose an \
                 antibacterial that does not inhibit CYP3A4.",
        source_label: "MHRA Drug Safety Update (August 2012): simvastatin interactions",
        source_url: Some(MHRA_SIMVASTATIN),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // Atorvastatin SmPC section 4.5 and BNF interactions (atorvastatin):
    // clarithromycin raises atorvastatin exposure; lower doses, monitor.
    Interaction {
        a: Agent::Medicine(CLARITHROMYCIN),
        b: Agent::Medicine(ATORVASTATIN),
        level: Level::Warning,
        headline: "raises atorvastatin levels; use a low statin dose",
        detail: "Clarithromycin inhibits CYP3A4 and raises atorvastatin exposure, increasing the \
                 risk of myopathy. The atorvastatin SmPC recommends lower maintenance doses and \
                 clinical monitoring above 20 mg daily (BNF).\n\n**What to do:** keep atorvastatin \
                 at 20 mg or less, or pause it, for the course; ask the patient to report muscle \
                 pain.",
        source_label: "BNF: Atorvastatin interactions (clarithromycin); atorvastatin SmPC 4.5",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // ONC high-priority list (Phansalkar et al. 2012): MAO inhibitors with
    // serotonin re-uptake inhibitors are contraindicated.
    Interaction {
        a: Agent::Class(Class::Ssri),
        b: Agent::Class(Class::MaoInhibitor),
        level: Level::Critical,
        headline: "risk of serotonin syndrome; contraindicated pair",
        detail: "An SSRI with a monoamine-oxidase inhibitor can cause serotonin syndrome \
                 (agitation, hyperthermia, rigidity, autonomic instability), which can be fatal. \
                 MAO inhibitors with SSRIs are one of the 15 contraindicated pairs of the ONC \
                 high-priority list (Phansalkar et al., JAMIA 2012). For rasagiline, a selective \
                 MAO-B inhibitor, the SmPC says to avoid fluoxetine and fluvoxamine and to use \
                 other antidepressants with caution.\n\n**What to do:** do not start the \
                 combination without specialist advice; observe the wash-out between them (at \
                 least 5 weeks after stopping fluoxetine).",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): MAOIs + SSRIs",
        source_url: Some(ONC_LIST),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // ONC high-priority list: MAO inhibitors with narcotic analgesics
    // (tramadol's SmPC contraindicates MAO inhibitors).
    Interaction {
        a: Agent::Medicine(TRAMADOL),
        b: Agent::Class(Class::MaoInhibitor),
        level: Level::Critical,
        headline: "risk of serotonin syndrome; contraindicated pair",
        detail: "Tramadol inhibits serotonin re-uptake; with a monoamine-oxidase inhibitor it can \
                 cause serotonin syndrome. Narcotic analgesics with MAO inhibitors are on the ONC \
                 high-priority list (Phansalkar et al., JAMIA 2012), and tramadol's SmPC \
                 contraindicates MAO inhibitors and the 2 weeks after them.\n\n**What to do:** \
                 choose another analgesic, such as paracetamol.",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): MAOIs + opioids",
        source_url: Some(ONC_LIST),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // ONC high-priority list: atazanavir with proton pump inhibitors.
    Interaction {
        a: Agent::Class(Class::ProtonPumpInhibitor),
        b: Agent::Medicine(ATAZANAVIR),
        level: Level::Critical,
        headline: "atazanavir absorption falls; HIV treatment may fail",
        detail: "Atazanavir needs stomach acid to be absorbed. Proton pump inhibitors cut its \
                 levels substantially, risking loss of viral control and resistance. Atazanavir \
                 with PPIs is one of the pairs of the ONC high-priority list (Phansalkar et al., \
                 JAMIA 2012); the SmPC does not recommend it.\n\n**What to do:** do not \
                 co-prescribe without the HIV team's advice.",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): \
            atazanavir + PPIs",
        source_url: Some(ONC_LIST),
        alternative_for_a: None,
        stop_b_ok: false,
    },
    // ONC high-priority list: tizanidine with CYP1A2 inhibitors
    // (tizanidine's SmPC contraindicates ciprofloxacin).
    Interaction {
        a: Agent::Medicine(CIPROFLOXACIN),
        b: Agent::Medicine(TIZANIDINE),
        level: Level::Critical,
        headline: "tizanidine levels rise many-fold; contraindicated",
        detail: "Ciprofloxacin strongly inhibits CYP1A2, which clears tizanidine; tizanidine \
                 exposure rises many-fold, with severe hypotension and sedation. Tizanidine with \
                 CYP1A2 inhibitors is on the ONC high-priority list (Phansalkar et al., JAMIA \
                 2012) and tizanidine's SmPC contraindicates ciprofloxacin.\n\n**What to do:** \
                 choose another antibacterial, or stop tizanidine for the course.",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): tizanidine + \
            CYP1A2 inhibitors",
        source_url: Some(ONC_LIST),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // BNF interactions (ACE inhibitors): NSAIDs increase the risk of renal
    // impairment and oppose the antihypertensive effect.
    Interaction {
        a: Agent::Class(Class::Nsaid),
        b: Agent::Class(Class::AceInhibitor),
        level: Level::Warning,
        headline: "risk of kidney injury; blood pressure control worse",
        detail: "NSAIDs reduce renal blood flow and blunt the effect of ACE inhibitors; together \
                 they increase the risk of acute kidney injury, especially with a diuretic or in \
                 dehydration (BNF).\n\n**What to do:** prefer paracetamol. If an NSAID is needed, \
                 use it briefly and check renal function and potassium.",
        source_label: "BNF: ACE inhibitor interactions (NSAIDs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (tramadol): SSRIs increase the risk of serotonin
    // syndrome and of seizures.
    Interaction {
        a: Agent::Medicine(TRAMADOL),
        b: Agent::Class(Class::Ssri),
        level: Level::Warning,
        headline: "risk of serotonin syndrome and seizures",
        detail: "Tramadol and SSRIs both raise serotonin and lower the seizure threshold; together \
                 they can cause serotonin syndrome or seizures (BNF).\n\n**What to do:** prefer \
                 another analgesic; if tramadol is needed, use a low dose and tell the patient \
                 which symptoms to report.",
        source_label: "BNF: Tramadol interactions (SSRIs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (SSRIs): NSAIDs increase the risk of bleeding.
    Interaction {
        a: Agent::Class(Class::Nsaid),
        b: Agent::Class(Class::Ssri),
        level: Level::Warning,
        headline: "higher risk of gastrointestinal bleeding",
        detail: "SSRIs deplete platelet serotonin; with an NSAID the risk of upper \
                 gastrointestinal bleeding rises (BNF).\n\n**What to do:** prefer paracetamol. If \
                 an NSAID is needed, consider a proton pump inhibitor, especially in older \
                 patients.",
        source_label: "BNF: SSRI interactions (NSAIDs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
];

/// Every interacting pair the knowledge base knows.
pub fn interactions() -> &'static [Interaction] {
    &INTERACTIONS
}

/// The most severe interaction between two medicines, either way round,
/// and whether `draft` is on side `a`.
pub(super) fn interaction_between(
    draft: &Medicine,
    other: &Medicine,
) -> Option<(&'static Interaction, bool)> {
    let mut best: Option<(&'static Interaction, bool)> = None;
    for rule in &INTERACTIONS {
        let draft_is_a = rule.a.covers(draft) && rule.b.covers(other);
        let draft_is_b = rule.b.covers(draft) && rule.a.covers(other);
        if !(draft_is_a || draft_is_b) {
            continue;
        }
        let better = match best {
            None => true,
            Some((held, _)) => rule.level.rank() > held.level.rank(),
        };
        if better {
            best = Some((rule, draft_is_a));
        }
    }
    best
}
