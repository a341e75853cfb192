//! The rights to inquire and to delete in the schema: `requestDataExport`, the `DataExport` it answers with
//! (also listed in `Me.dataExports`), and `deletePersonalField`.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use crate::accounts::Accounts;
use crate::crypto::DataKeys;
use crate::graphql::viewer::Viewer;
use crate::graphql::{ids, pool};
use crate::rights::service::{self, ExportRow, ExportStatus};
use crate::schema::accounts::Me;
use crate::schema::accounts::types::ProfileField;

/// Where a data export stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DataExportStatus {
    /// Requested; the archive is being built.
    Pending,
    /// The archive is ready: `downloadUrl` fetches it until `expiresAt`.
    Ready,
    /// The archive could not be built after several attempts; request a new export.
    Failed,
    /// The download link ran out and the archive was dropped; request a new export.
    Expired,
}

impl From<ExportStatus> for DataExportStatus {
    fn from(s: ExportStatus) -> Self {
        match s {
            ExportStatus::Pending => DataExportStatus::Pending,
            ExportStatus::Ready => DataExportStatus::Ready,
            ExportStatus::Failed => DataExportStatus::Failed,
            ExportStatus::Expired => DataExportStatus::Expired,
        }
    }
}

/// An export of everything held about the signed-in account.
pub struct DataExport {
    row: ExportRow,
    status: ExportStatus,
    download_url: Option<String>,
}

impl DataExport {
    /// The export as its owner sees it now (by the accounts' clock), its link signed with the request's keys.
    pub fn new(row: ExportRow, ctx: &Context<'_>) -> DataExport {
        let keys = ctx.data_unchecked::<DataKeys>();
        let now = ctx.data_unchecked::<Accounts>().clock.now();
        DataExport {
            status: row.status_at(now),
            download_url: row.download_url(keys, now),
            row,
        }
    }
}

/// A machine-readable JSON archive of everything held about an account: account and profile, bindings,
/// sessions, consents and their history, works, articles, collections, notifications, security events,
/// disclosures to partners and staff accesses. Built in the background; downloadable only by its owner.
#[Object]
impl DataExport {
    /// Global id of this export.
    pub async fn id(&self) -> ID {
        ids::encode("DataExport", self.row.id)
    }
    /// Where the export stands.
    async fn status(&self) -> DataExportStatus {
        self.status.into()
    }
    /// When it was requested.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.row.requested_at
    }
    /// When the archive was ready; null until then.
    async fn ready_at(&self) -> Option<DateTime<Utc>> {
        self.row.ready_at
    }
    /// When the download link stops working; null until the archive is ready.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.row.expires_at
    }
    /// A signed link that downloads the archive as JSON (`GET`, with the same credentials as `/graphql`: only
    /// the owner may use it); null until the archive is ready and after it expires.
    async fn download_url(&self) -> Option<&str> {
        self.download_url.as_deref()
    }
}

/// The data exports of an account, newest first, as its owner sees them.
pub async fn data_exports(
    ctx: &Context<'_>,
    account_id: i64,
) -> async_graphql::Result<Vec<DataExport>> {
    let rows = service::recent_exports(pool(ctx), account_id).await?;
    Ok(rows.into_iter().map(|r| DataExport::new(r, ctx)).collect())
}

/// Resolves a `DataExport` global id: only for the account that requested it.
pub async fn export_node(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<DataExport>> {
    let Some(signed_in) = &Viewer::from_ctx(ctx).account else {
        return Ok(None);
    };
    let row = service::export_of(pool(ctx), signed_in.account_id, id).await?;
    Ok(row.map(|r| DataExport::new(r, ctx)))
}

#[derive(Default)]
pub struct DataRightsMutation;

/// Exporting and deleting one's own personal data.
#[Object]
impl DataRightsMutation {
    /// Asks for an archive of everything held about the signed-in account. It is built in the background;
    /// follow it in `viewer { dataExports }`. While an export is pending, asking again answers with that one.
    async fn request_data_export(&self, ctx: &Context<'_>) -> async_graphql::Result<DataExport> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let row = service::request_export(pool(ctx), account_id).await?;
        Ok(DataExport::new(row, ctx))
    }

    /// Erases one optional profile field of the signed-in account: its value and its visibility setting go
    /// (labels become empty), so it shows nowhere and appears in no later export. To change a value instead,
    /// use `updateProfile`.
    async fn delete_personal_field(
        &self,
        ctx: &Context<'_>,
        field: ProfileField,
    ) -> async_graphql::Result<Me> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let accounts = ctx.data_unchecked::<Accounts>();
        crate::accounts::service::delete_personal_field(accounts, account_id, field.column())
            .await?;
        Me::load(ctx, account_id).await
    }
}
